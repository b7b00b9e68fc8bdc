//go:build kubernetes

package kubernetes

import (
	"context"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// Auto's timings here: a short gate and re-detection, so the figures are
// istiod's, CoreDNS's and grpc-go's, not the chain's defaults.
const (
	autoGate     = 500 * time.Millisecond
	autoRedetect = 500 * time.Millisecond
)

// autoChain is Auto as a pod without a sidecar has it: xds through istiod,
// then headless through the cluster DNS.
func autoChain(pod string) balancer.Auto {
	return balancer.Auto{
		Strategies: []balancer.Strategy{
			xdsStrategy(pod),
			balancer.Headless{DNS: balancer.DNS{RefreshInterval: testRefresh}},
		},
		Gate:             autoGate,
		RedetectInterval: autoRedetect,
	}
}

type decider interface{ Decision() balancer.Decision }

// strategyOf returns the strategy an Auto connection uses.
func strategyOf(conn balancer.Conn) string { return conn.(decider).Decision().Strategy }

// TestAutoKubernetes: with istiod in Kubernetes mode, Auto chooses xds and
// follows the Service's pods: spread over 3, a 4th added, one removed.
func TestAutoKubernetes(t *testing.T) {
	c, _ := istiodEnv(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(4))
	s := newService(t, c, true, bs[:3])
	conn := balancertest.Dial(t, autoChain("auto"), s.Addr())
	if err := calltest.WaitServed(ctx, conn, bs[:3]); err != nil {
		t.Fatal(err)
	}
	if got := strategyOf(conn); got != "xds" {
		t.Fatalf("Auto chose %q (%s), want xds", got, conn.(decider).Decision().Reason)
	}
	got := spread(t, ctx, conn, bs, 300)
	for i, b := range bs[:3] {
		if got[i] < 80 {
			t.Errorf("%s served %d of 300 calls (%v), want about 100", b.Name, got[i], got)
		}
	}
	setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(bs)...))
	if err := calltest.WaitServed(ctx, conn, bs[3:]); err != nil {
		t.Fatalf("after adding %s: %v", bs[3].Name, err)
	}
	setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(bs[1:])...))
	if err := waitNotServed(ctx, conn, bs[0], 30); err != nil {
		t.Fatalf("after removing %s: %v", bs[0].Name, err)
	}
	if got := strategyOf(conn); got != "xds" {
		t.Errorf("Auto moved to %q during the pod changes, want xds", got)
	}
}

// TestAutoAPIServerDownAtStart: the API server is down when istiod starts,
// so istiod has no configuration to serve; Auto serves the first calls
// through headless (CoreDNS keeps answering from what it had), and moves up
// to xds once the API server is back and istiod is ready.
func TestAutoAPIServerDownAtStart(t *testing.T) {
	c, d := istiodEnv(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(2))
	s := newService(t, c, true, bs)
	// Let CoreDNS see the Service before the API server goes.
	waitAnswer(t, ctx, shared.dns.Addr(), s.Host())

	d.Kill()
	c.StopAPIServer()
	t.Cleanup(func() {
		// Leave the shared control plane running for the next tests.
		ctx, cancel := context.WithTimeout(context.Background(), 2*kubetest.StartTimeout)
		defer cancel()
		if !c.APIServerRunning() {
			if err := c.StartAPIServer(ctx); err != nil {
				t.Errorf("restart kube-apiserver: %v", err)
			}
		}
		if !d.Running() {
			if err := d.Start(ctx); err != nil {
				t.Errorf("restart istiod: %v", err)
			}
		}
	})
	started := make(chan error, 1)
	go func() { started <- d.Start(ctx) }()

	conn := balancertest.Dial(t, autoChain("api-down"), s.Addr())
	if _, err := calltest.GetTicket(ctx, conn); err != nil {
		t.Fatalf("first call with the API server down: %v", err)
	}
	if got := strategyOf(conn); got != "headless" {
		t.Fatalf("Auto chose %q with the API server down (%s), want headless", got, conn.(decider).Decision().Reason)
	}
	t.Logf("API server down: Auto chose headless: %s", conn.(decider).Decision().Reason)

	if err := c.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-started; err != nil {
		t.Fatalf("istiod after the API server came back: %v", err)
	}
	for i := 0; strategyOf(conn) != "xds"; i++ {
		if i == maxCalls {
			t.Fatalf("Auto did not move up to xds within %d calls after the API server came back", maxCalls)
		}
		if _, _, err := calltest.GetTicketRetry(ctx, conn); err != nil {
			t.Fatalf("call while Auto moves up: %v", err)
		}
		if ctx.Err() != nil {
			t.Fatalf("Auto did not move up to xds after the API server came back: %v", ctx.Err())
		}
	}
}
