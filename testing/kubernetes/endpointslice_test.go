//go:build kubernetes

package kubernetes

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// endpointsliceStrategy is the endpointslice strategy as a pod runs it
// whose ServiceAccount has what deploy/overlays/endpointslice grants (list
// and watch on EndpointSlices in open-match): the API server, its CA and a
// token from the TokenRequest API in a file.
func endpointsliceStrategy(t testing.TB, c *kubetest.Cluster) *endpointslice.Strategy {
	t.Helper()
	file, err := c.ServiceAccountToken(testContext(t), "open-match", "meshmatch-endpointslice", true, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return &endpointslice.Strategy{APIServer: c.URL(), CAFile: c.CAFile(), TokenFile: file, Namespace: "open-match"}
}

// endpointsliceHarness serves the backends as the ready endpoints of a
// headless Service, whose EndpointSlices the client watches through the
// API server.
func endpointsliceHarness(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
	c, _ := env(t)
	s := newService(t, c, true, bs)
	return balancertest.Setup{
		Strategy: endpointsliceStrategy(t, c),
		Addr:     s.Addr(),
		SetBackends: func(t testing.TB, live []*balancertest.Backend) {
			setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(live)...))
		},
	}
}

func TestEndpointSliceConformance(t *testing.T) {
	env(t)
	balancertest.RunOn(t, podHosts(4), endpointsliceHarness)
}

// TestAutoEndpointSliceAPIServerDown: with the API server stopped, Auto
// over endpointslice then headless serves the first call through headless
// (CoreDNS answers from what it had), and its Decision says why
// endpointslice was passed over: the refused connection to the API server.
// Once the API server is back, Auto moves up to endpointslice.
func TestAutoEndpointSliceAPIServerDown(t *testing.T) {
	c, _ := env(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(2))
	s := newService(t, c, true, bs)
	waitAnswer(t, ctx, shared.dns.Addr(), s.Host())
	chain := balancer.Auto{
		Strategies: []balancer.Strategy{
			endpointsliceStrategy(t, c),
			balancer.Headless{DNS: balancer.DNS{RefreshInterval: testRefresh}},
		},
		Gate:             autoGate,
		RedetectInterval: autoRedetect,
	}

	c.StopAPIServer()
	t.Cleanup(func() {
		if c.APIServerRunning() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*kubetest.StartTimeout)
		defer cancel()
		if err := c.StartAPIServer(ctx); err != nil {
			t.Errorf("restart kube-apiserver for the next tests: %v", err)
		}
	})
	conn := balancertest.Dial(t, chain, s.Addr())
	if _, err := calltest.GetTicket(ctx, conn); err != nil {
		t.Fatalf("first call with the API server down: %v", err)
	}
	d := conn.(decider).Decision()
	if d.Strategy != "headless" {
		t.Fatalf("Auto chose %q with the API server down (%s), want headless", d.Strategy, d.Reason)
	}
	why := fmt.Sprintf("list endpointslices of open-match/%s", s.Name)
	if len(d.Detections) == 0 || d.Detections[0].Strategy != "endpointslice" || d.Detections[0].Available ||
		!strings.Contains(d.Detections[0].Reason, why) || !strings.Contains(d.Detections[0].Reason, "connection refused") {
		t.Errorf("Auto's detections = %+v; want endpointslice unavailable with %q and connection refused", d.Detections, why)
	}
	t.Logf("API server down: Auto chose %s (%s); endpointslice: %s", d.Strategy, d.Kind, d.Detections[0].Reason)
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("through headless: %v", err)
	}

	if err := c.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	for i := 0; strategyOf(conn) != "endpointslice"; i++ {
		if i == maxCalls {
			t.Fatalf("Auto did not move up to endpointslice within %d calls after the API server came back", maxCalls)
		}
		if _, _, err := calltest.GetTicketRetry(ctx, conn); err != nil {
			t.Fatalf("call while Auto moves up: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("Auto did not move up to endpointslice after the API server came back: %v", ctx.Err())
		}
	}
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("through endpointslice: %v", err)
	}
}
