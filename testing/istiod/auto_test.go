//go:build istiod

package istiod_test

import (
	"context"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiod"
)

// Auto's timings in these tests: a short gate and re-detection so that the
// measured figures are istiod's and grpc-go's, not the chain's defaults.
const (
	autoGate     = 500 * time.Millisecond
	autoRedetect = 500 * time.Millisecond
	dnsRefresh   = 100 * time.Millisecond
)

// meshAuto serves bs under svc's host through DNS too, and returns an Auto
// chain of xds (istiod at srv) then headless.
func meshAuto(t *testing.T, srv *istiod.Server, svc istiod.Service, bs []*balancertest.Backend) balancer.Auto {
	t.Helper()
	dns := dnstest.NewServer(t)
	dns.Set(svc.Host, backendIPs(bs)...)
	return balancer.Auto{
		Strategies: []balancer.Strategy{
			xdsStrategy(srv, uniqueName("auto-pod")),
			headless(dns.Addr(), dnsRefresh),
		},
		Gate:             autoGate,
		RedetectInterval: autoRedetect,
	}
}

// getTicket makes one GetTicket through fe and returns the serving
// backend's name.
func getTicket(ctx context.Context, fe *omclient.Frontend) (string, error) {
	tk, err := fe.GetTicket(ctx, "t")
	return tk.GetId(), err
}

// callUntil makes calls, each of which must succeed, until done reports
// true, within ctx and at most maxCalls calls, pacing them by pace.
func callUntil(t *testing.T, ctx context.Context, fe *omclient.Frontend, what string, done func(backend string) bool) time.Duration {
	t.Helper()
	const maxCalls, pace = 20000, time.Millisecond
	start := time.Now()
	tick := time.NewTicker(pace)
	defer tick.Stop()
	for i := 0; i < maxCalls; i++ {
		name, err := getTicket(ctx, fe)
		if err != nil {
			t.Fatalf("%s: call %d failed after %v: %v", what, i, time.Since(start), err)
		}
		if done(name) {
			return time.Since(start)
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("%s: not within the test deadline: %v", what, ctx.Err())
		}
	}
	t.Fatalf("%s: not within %d calls", what, maxCalls)
	return 0
}

// TestAutoFallbackThenMoveUp: istiod down when the Conn is made → the first
// call goes through headless; istiod started → Auto moves up to xds, timed;
// no call fails on the way.
func TestAutoFallbackThenMoveUp(t *testing.T) {
	ctx := testContext(t)
	srv := istiod.NewServer(t, istiod.Options{NoStart: true})
	bs := balancertest.StartBackends(t, 2)
	svc := serviceFor(t, srv, "fallback", bs)
	c := newConn(t, svc.Addr(), omclient.WithStrategy(meshAuto(t, srv, svc, bs)))
	fe := omclient.NewFrontend(c)

	dialed := time.Now()
	if _, err := getTicket(ctx, fe); err != nil {
		t.Fatalf("GetTicket() with istiod down = %v, want the headless fallback to serve it", err)
	}
	t.Logf("istiod down at start: first call served %v after NewConn, via %q", time.Since(dialed).Round(time.Millisecond), c.Decision().Strategy)
	if d := c.Decision(); d.Strategy != "headless" {
		t.Fatalf("Decision().Strategy with istiod down = %q (%s), want headless", d.Strategy, d.Reason)
	}

	if err := srv.Start(ctx); err != nil {
		t.Fatalf("%v", err)
	}
	took := callUntil(t, ctx, fe, "move up to xds once istiod runs", func(string) bool { return c.Decision().Strategy == "xds" })
	t.Logf("istiod started: Auto moved up to xds %v later (gate %v, re-detection every %v); reason %q",
		took.Round(time.Millisecond), autoGate, autoRedetect, c.Decision().Reason)
}

// TestAutoIstiodKilled: once configuration has arrived, istiod being killed
// fails no call; endpoints changed while it was down reach the client after
// it is back (timed).
func TestAutoIstiodKilled(t *testing.T) {
	ctx := testContext(t)
	srv := istiod.NewServer(t, istiod.Options{})
	bs := balancertest.StartBackends(t, 3)
	svc := serviceFor(t, srv, "killed", bs[:2])
	c := newConn(t, svc.Addr(), omclient.WithStrategy(meshAuto(t, srv, svc, bs)))
	fe := omclient.NewFrontend(c)
	callUntil(t, ctx, fe, "first call on xds", func(string) bool { return c.Decision().Strategy == "xds" })

	srv.Kill()
	const down = 300
	before := calls(bs)
	for i := range down {
		if name, err := getTicket(ctx, fe); err != nil || name == bs[2].Name {
			t.Fatalf("call %d with istiod killed: GetTicket() = %q, %v; want success from %s or %s", i, name, err, bs[0].Name, bs[1].Name)
		}
	}
	t.Logf("istiod killed: %d of %d calls failed; spread %v; strategy %q", 0, down, since(bs, before), c.Decision().Strategy)
	if d := c.Decision(); d.Strategy != "xds" {
		t.Errorf("Decision().Strategy after istiod was killed = %q (%s), want xds (cached configuration)", d.Strategy, d.Reason)
	}

	next := svc
	next.Endpoints = backendIPs(bs)
	setService(t, srv, next)
	if err := srv.Start(ctx); err != nil {
		t.Fatalf("%v", err)
	}
	took := callUntil(t, ctx, fe, "endpoint added while istiod was down", func(name string) bool { return name == bs[2].Name })
	t.Logf("istiod restarted: endpoint added while it was down served %v later", took.Round(time.Millisecond))
}

// TestAutoEndpointPickup: through Auto on xds, an endpoint added to the
// ServiceEntry gets calls and a removed one stops getting them; both timed
// from the file change, with no failed call.
func TestAutoEndpointPickup(t *testing.T) {
	ctx := testContext(t)
	srv := sharedIstiod(t)
	bs := balancertest.StartBackends(t, 4)
	svc := serviceFor(t, srv, "pickup", bs[:3])
	c := newConn(t, svc.Addr(), omclient.WithStrategy(meshAuto(t, srv, svc, bs)))
	fe := omclient.NewFrontend(c)
	callUntil(t, ctx, fe, "first call on xds", func(string) bool { return c.Decision().Strategy == "xds" })

	next := svc
	next.Endpoints = backendIPs(bs)
	if err := srv.SetService(next); err != nil {
		t.Fatalf("%v", err)
	}
	added := callUntil(t, ctx, fe, "4th endpoint served", func(name string) bool { return name == bs[3].Name })

	next.Endpoints = backendIPs(bs[1:])
	changed := time.Now()
	if err := srv.SetService(next); err != nil {
		t.Fatalf("%v", err)
	}
	run, lastUsed := 0, time.Duration(0)
	callUntil(t, ctx, fe, "removed endpoint unused for 100 calls", func(name string) bool {
		if name == bs[0].Name {
			run, lastUsed = 0, time.Since(changed)
			return false
		}
		run++
		return run == 100
	})
	t.Logf("endpoint added: first call %v after the file change; endpoint removed: last call %v after the file change",
		added.Round(time.Millisecond), lastUsed.Round(time.Millisecond))
	if d := c.Decision(); d.Strategy != "xds" {
		t.Errorf("Decision().Strategy = %q (%s), want xds", d.Strategy, d.Reason)
	}
}
