//go:build kubernetes

package endpointslice_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// podHosts returns the first n pod addresses as strings.
func podHosts(n int) []string {
	hs := make([]string, n)
	for i := range hs {
		hs[i] = kubetest.PodAddr(i).String()
	}
	return hs
}

// newService creates a headless Service for the backends' port with their
// addresses as ready endpoints.
func newService(t testing.TB, c *kubetest.Cluster, bs []*balancertest.Backend) kubetest.Service {
	t.Helper()
	s := kubetest.Service{Namespace: ns, Name: fmt.Sprintf("es-%d", serviceSeq.Add(1)), Port: int32(int(bs[0].AddrPort().Port())), Headless: true}
	if err := c.ApplyService(testContext(t), s); err != nil {
		t.Fatal(err)
	}
	setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(bs)...))
	return s
}

func setEndpoints(t testing.TB, c *kubetest.Cluster, s kubetest.Service, eps []kubetest.Endpoint) {
	t.Helper()
	if err := c.SetEndpoints(testContext(t), s, eps); err != nil {
		t.Fatal(err)
	}
}

// waitFailing waits until a call fails with Unavailable and a message
// holding want, and returns that error.
func waitFailing(ctx context.Context, conn grpc.ClientConnInterface, want string) error {
	var last error
	for range maxCalls {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		_, err := calltest.GetTicket(cctx, conn)
		cancel()
		if status.Code(err) == codes.Unavailable && strings.Contains(err.Error(), want) {
			return nil
		}
		if ctx.Err() != nil {
			break
		}
		last = err
	}
	return fmt.Errorf("no call failed with Unavailable and %q (last: %v)", want, last)
}

// waitNotServed waits until window consecutive calls succeed and none is
// served by gone, within maxCalls calls.
func waitNotServed(ctx context.Context, conn grpc.ClientConnInterface, gone *balancertest.Backend, window int) error {
	return calltest.WaitNotServed(ctx, conn, gone.Name, window, maxCalls)
}

// harness serves the backends as the ready endpoints of a Service whose
// EndpointSlices the client watches.
func harness(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
	c := cluster(t)
	s := newService(t, c, bs)
	return balancertest.Setup{
		Strategy: strategy(t, c),
		Addr:     s.Addr(),
		SetBackends: func(t testing.TB, live []*balancertest.Backend) {
			setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(live)...))
		},
	}
}

func TestConformance(t *testing.T) {
	cluster(t)
	balancertest.RunOn(t, podHosts(4), harness)
}
