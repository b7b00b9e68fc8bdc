//go:build istiod

package istiod_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/istiod"
	"github.com/meshmatch/meshmatch/xds"
)

// namespace is where the test services and the test clients live.
const namespace = "open-match"

var serial atomic.Int64

// uniqueName returns prefix plus a number not used before in this process.
func uniqueName(prefix string) string {
	return fmt.Sprintf("%s-%d", prefix, serial.Add(1))
}

// hostFor returns the fully qualified service name of name.
func hostFor(name string) string { return name + "." + namespace + ".svc.cluster.local" }

// backendPort returns the port the backends share.
func backendPort(bs []*balancertest.Backend) int {
	_, p, _ := net.SplitHostPort(bs[0].Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// backendIPs returns the backends' IP addresses.
func backendIPs(bs []*balancertest.Backend) []string {
	ips := make([]string, len(bs))
	for i, b := range bs {
		ips[i], _, _ = net.SplitHostPort(b.Addr)
	}
	return ips
}

// serviceFor writes a new ServiceEntry whose endpoints are bs and waits
// until istiod has it in its registry.
func serviceFor(t testing.TB, srv *istiod.Server, prefix string, bs []*balancertest.Backend) istiod.Service {
	t.Helper()
	name := uniqueName(prefix)
	svc := istiod.Service{Name: name, Host: hostFor(name), Port: backendPort(bs), Endpoints: backendIPs(bs)}
	setService(t, srv, svc)
	return svc
}

// setService writes svc and, when istiod runs, waits for it to be
// registered.
func setService(t testing.TB, srv *istiod.Server, svc istiod.Service) {
	t.Helper()
	if err := srv.SetService(svc); err != nil {
		t.Fatalf("SetService(%s) = %v", svc.Name, err)
	}
	if !srv.Running() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := srv.WaitRegistered(ctx, svc.Host); err != nil {
		t.Fatalf("%v", err)
	}
}

// podEnv is the downward-API environment of a test client pod; the xds
// strategy composes its node id, sidecar~127.0.0.1~pod.open-match~…, from it.
func podEnv(pod string) func(string) string {
	env := map[string]string{"POD_NAME": pod, "POD_NAMESPACE": namespace, "INSTANCE_IP": "127.0.0.1"}
	return func(k string) string { return env[k] }
}

// proxyID is the id istiod's debug endpoints know pod's client by.
func proxyID(pod string) string { return pod + "." + namespace }

// xdsStrategy is the proxyless strategy as a pod named pod would use it:
// a bootstrap composed for the istiod at srv.
func xdsStrategy(srv *istiod.Server, pod string) xds.Strategy {
	return xds.Strategy{IstiodAddr: srv.XDSAddr(), Env: podEnv(pod), ProbeTimeout: 2 * time.Second}
}

// quickReconnect keeps reconnects to a restarted backend short.
var quickReconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
	MinConnectTimeout: time.Second,
})

// quickRetry makes the SDK's retries of idempotent calls quick.
var quickRetry = omclient.RetryPolicy{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}

// newConn dials addr through omclient with the given options after quick
// retry and reconnect settings, and closes it when the test ends.
func newConn(t testing.TB, addr string, opts ...omclient.Option) *omclient.Conn {
	t.Helper()
	all := append([]omclient.Option{omclient.WithRetryPolicy(quickRetry), omclient.WithDialOptions(quickReconnect)}, opts...)
	c, err := omclient.NewConn(addr, all...)
	if err != nil {
		t.Fatalf("omclient.NewConn(%q) = %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// calls returns each backend's call count.
func calls(bs []*balancertest.Backend) []int64 {
	c := make([]int64, len(bs))
	for i, b := range bs {
		c[i] = b.Calls()
	}
	return c
}

// since returns the calls each backend served since before.
func since(bs []*balancertest.Backend, before []int64) []int64 {
	d := calls(bs)
	for i := range d {
		d[i] -= before[i]
	}
	return d
}
