package balancer_test

import (
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
)

// TestAutoClosesUnusedStrategy: after falling back to headless and moving
// up again, the headless connection is closed: its pod connection ends and
// DNS polling stops.
func TestAutoClosesUnusedStrategy(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 2)
	srv, addr, _ := dnsBackends(t, bs[1:])
	bs[0].Stop()
	log, events := newLogEvents()
	a := balancer.Auto{
		Strategies: []balancer.Strategy{
			named{static(bs[0]), "primary"},
			balancer.Headless{DNS: balancer.DNS{Server: srv.Addr(), RefreshInterval: testRefresh}},
		},
		Gate: 50 * time.Millisecond, Stable: 50 * time.Millisecond, RedetectInterval: 100 * time.Millisecond, Logger: log,
	}
	conn := balancertest.Dial(t, a, addr)
	waitServedBy(t, ctx, conn, bs[1].Name)
	if err := srv.WaitQueries(ctx, srv.Queries()+2); err != nil {
		t.Fatalf("headless in use but not polling DNS: %v", err)
	}

	bs[0].Restart(t)
	waitServedBy(t, ctx, conn, bs[0].Name)
	if err := bs[1].WaitConnsClosed(ctx); err != nil {
		t.Errorf("after moving up from headless: %v", err)
	}
	queries := srv.Queries()
	quiet := time.NewTimer(20 * testRefresh)
	defer quiet.Stop()
	<-quiet.C
	if got := srv.Queries(); got != queries {
		t.Errorf("DNS queries after moving up from headless: %d more within %v, want none", got-queries, 20*testRefresh)
	}
	if got := events.count(msgIs("balancer: auto: detection", "strategy", "primary")); got > 2 {
		t.Errorf("%d detection records for primary, want at most 2 (one per change)", got)
	}
}

// TestAutoHysteresis: a higher strategy that becomes READY but does not stay
// READY for Stable never gets the calls back, however often it flaps.
func TestAutoHysteresis(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 2)
	log, events := newLogEvents()
	a := balancer.Auto{
		Strategies: []balancer.Strategy{named{static(bs[0]), "primary"}, named{static(bs[1]), "secondary"}},
		Gate:       50 * time.Millisecond, Stable: time.Hour, RedetectInterval: time.Hour, Logger: log,
	}
	conn := balancertest.Dial(t, a, "svc.meshmatch.test:50504")
	waitServedBy(t, ctx, conn, bs[0].Name)
	bs[0].Stop()
	waitServedBy(t, ctx, conn, bs[1].Name)

	from := events.mark()
	primaryReadyOrMoved := func(r record) bool {
		return msgIs("balancer: auto: state", "strategy", "primary", "state", "READY")(r) || msgIs("balancer: auto: using strategy")(r)
	}
	for flap := range 3 {
		bs[0].Restart(t)
		events.next(t, ctx, &from, "primary READY", primaryReadyOrMoved)
		bs[0].Stop()
		if d := decision(t, conn); d.Strategy != "secondary" {
			t.Fatalf("flap %d: Decision() = %+v, want secondary while primary has not been READY for Stable", flap, d)
		}
		events.next(t, ctx, &from, "primary not READY", func(r record) bool {
			return msgIs("balancer: auto: state", "strategy", "primary")(r) && r.attrs["state"] != "READY"
		})
	}
	if got := events.count(msgIs("balancer: auto: using strategy")); got != 2 {
		t.Errorf("%d decisions over 3 flaps of primary, want 2 (primary, then secondary)", got)
	}
}

// TestAutoRedialsAfterLongOutage: a higher strategy whose connection is
// waiting out a long reconnect backoff is dialed again, so moving up takes
// about RedetectInterval + one connect + Stable, not the backoff.
func TestAutoRedialsAfterLongOutage(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 2)
	a := balancer.Auto{
		Strategies: []balancer.Strategy{named{static(bs[0]), "primary"}, named{static(bs[1]), "secondary"}},
		Gate:       50 * time.Millisecond, Stable: 50 * time.Millisecond, RedetectInterval: 100 * time.Millisecond,
	}
	// A reconnect backoff far longer than the test's deadline, as grpc-go's
	// own (up to 120 s) is after a long outage.
	slow := grpc.WithConnectParams(grpc.ConnectParams{
		Backoff:           backoff.Config{BaseDelay: time.Minute, Multiplier: 1.6, MaxDelay: 2 * time.Minute},
		MinConnectTimeout: time.Second,
	})
	conn := balancertest.Dial(t, a, "svc.meshmatch.test:50504", slow)
	waitServedBy(t, ctx, conn, bs[0].Name)
	bs[0].Stop()
	waitServedBy(t, ctx, conn, bs[1].Name)
	bs[0].Restart(t)
	waitServedBy(t, ctx, conn, bs[0].Name)
	if d := decision(t, conn); d.Strategy != "primary" || !strings.Contains(d.Reason, "moving up") {
		t.Errorf("Decision() = %+v, want primary, moving up", d)
	}
}

// TestAutoPendingErrorNamesCause: a call that times out while the only
// strategy cannot connect says why (connection refused), not only that no
// strategy was chosen yet.
func TestAutoPendingErrorNamesCause(t *testing.T) {
	conn := balancertest.Dial(t, balancer.Auto{Strategies: []balancer.Strategy{balancer.Static{Addrs: []string{closedAddr(t)}}}, Gate: time.Minute}, "svc.meshmatch.test:50504")
	_, err := calltest.GetTicket(shortContext(t), conn)
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("GetTicket() on a port nothing listens on = %v, want DeadlineExceeded naming the cause, connection refused", err)
	}
}

// TestAutoRedetectionLogsOnChange: re-detecting an unavailable sidecar
// again and again logs its detection once, not once per interval.
func TestAutoRedetectionLogsOnChange(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 1)
	agent := istiotest.NewAgent(t)
	agent.SetReady(false)
	log, events := newLogEvents()
	sc := balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: closedAddr(t), ReadyTimeout: 10 * time.Millisecond}
	a := balancer.Auto{Strategies: []balancer.Strategy{sc, static(bs[0])}, RedetectInterval: 20 * time.Millisecond, Logger: log}
	conn := balancertest.Dial(t, a, bs[0].Addr)
	waitServedBy(t, ctx, conn, bs[0].Name)
	if err := agent.WaitRequests(ctx, agent.Requests()+5); err != nil {
		t.Fatalf("sidecar not detected again: %v", err)
	}
	if got := events.count(msgIs("balancer: auto: detection", "strategy", "sidecar")); got != 1 {
		t.Errorf("%d detection records for the same unavailable sidecar, want 1", got)
	}
}
