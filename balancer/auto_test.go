package balancer_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
)

// named gives a strategy another name, so that a chain can hold two of a kind.
type named struct {
	balancer.Strategy
	name string
}

func (n named) Name() string { return n.name }

func (n named) Detect(ctx context.Context, addr string) balancer.Detection {
	d := n.Strategy.Detect(ctx, addr)
	d.Strategy = n.name
	return d
}

// blocked is a strategy whose Detect waits for release (or its context).
type blocked struct {
	balancer.Strategy
	release chan struct{}
}

func (b blocked) Detect(ctx context.Context, addr string) balancer.Detection {
	select {
	case <-b.release:
		return b.Strategy.Detect(ctx, addr)
	case <-ctx.Done():
		return balancer.Detection{Strategy: b.Name(), Reason: ctx.Err().Error()}
	}
}

func static(bs ...*balancertest.Backend) balancer.Static {
	s := balancer.Static{}
	for _, b := range bs {
		s.Addrs = append(s.Addrs, b.Addr)
	}
	return s
}

func decision(t *testing.T, conn balancer.Conn) balancer.Decision {
	t.Helper()
	r, ok := conn.(balancer.Reporter)
	if !ok {
		t.Fatalf("%T does not implement balancer.Reporter", conn)
	}
	return r.Decision()
}

func autoHarness(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
	s := headlessHarness(testRefresh)(t, bs)
	s.Strategy = balancer.Auto{Strategies: []balancer.Strategy{s.Strategy}}
	return s
}

// TestAutoPendingReasonNamesGatedStrategy: a call that times out while the
// detected strategy is still trying to connect says which strategy it is
// waiting for, not that detection is still running.
func TestAutoPendingReasonNamesGatedStrategy(t *testing.T) {
	conn := balancertest.Dial(t, balancer.Auto{Strategies: []balancer.Strategy{balancer.Static{Addrs: []string{closedAddr(t)}}}, Gate: time.Minute}, "svc.meshmatch.test:50504")
	_, err := calltest.GetTicket(shortContext(t), conn)
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "static detected") || !strings.Contains(err.Error(), "waiting up to 1m0s") {
		t.Errorf("GetTicket() during the gate = %v, want DeadlineExceeded naming the static strategy and its gate", err)
	}
}

func TestAutoCallsWaitForDecision(t *testing.T) {
	bs := balancertest.StartBackends(t, 1)
	release := make(chan struct{})
	conn := balancertest.Dial(t, balancer.Auto{Strategies: []balancer.Strategy{blocked{Strategy: static(bs...), release: release}}}, "svc.meshmatch.test:50504")

	_, err := calltest.GetTicket(shortContext(t), conn)
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "no strategy chosen") {
		t.Errorf("GetTicket() before detection finished = %v, want DeadlineExceeded saying no strategy is chosen", err)
	}
	ctx := testContext(t)
	done := make(chan error, 1)
	go func() { _, err := calltest.GetTicket(ctx, conn); done <- err }()
	close(release)
	if err := <-done; err != nil {
		t.Errorf("GetTicket() = %v, want nil once detection finished", err)
	}
	if d := decision(t, conn); d.Strategy != "static" || len(d.Detections) != 1 || !d.Detections[0].Available {
		t.Errorf("Decision() = %+v, want static with its detection", d)
	}
}

func TestAutoGateFallsBack(t *testing.T) {
	bs := balancertest.StartBackends(t, 1)
	dead := balancer.Static{Addrs: []string{closedAddr(t)}}
	a := balancer.Auto{Strategies: []balancer.Strategy{named{dead, "dead"}, named{static(bs...), "live"}}, Gate: 50 * time.Millisecond}
	conn := balancertest.Dial(t, a, "svc.meshmatch.test:50504")
	if got, err := calltest.GetTicket(testContext(t), conn); err != nil || got != bs[0].Name {
		t.Fatalf("GetTicket() = %q, %v; want %q, nil", got, err, bs[0].Name)
	}
	if d := decision(t, conn); d.Strategy != "live" || len(d.Detections) != 2 {
		t.Errorf("Decision() = %+v, want live with two detections", d)
	}
}

func TestAutoMovesDownAndBackUp(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 2)
	var logs syncBuffer
	a := balancer.Auto{
		Strategies: []balancer.Strategy{named{static(bs[0]), "primary"}, named{static(bs[1]), "secondary"}},
		Gate:       50 * time.Millisecond,
		Logger:     slog.New(slog.NewTextHandler(&logs, nil)),
	}
	conn := balancertest.Dial(t, a, "svc.meshmatch.test:50504")
	waitServedBy(t, ctx, conn, bs[0].Name)

	bs[0].Stop()
	waitServedBy(t, ctx, conn, bs[1].Name)
	if d := decision(t, conn); d.Strategy != "secondary" || !strings.Contains(d.Reason, "moving down") {
		t.Errorf("Decision() after primary died = %+v, want secondary, moving down", d)
	}

	bs[0].Restart(t)
	waitServedBy(t, ctx, conn, bs[0].Name)
	if d := decision(t, conn); d.Strategy != "primary" || !strings.Contains(d.Reason, "moving up") {
		t.Errorf("Decision() after primary recovered = %+v, want primary, moving up", d)
	}
	if got := strings.Count(logs.String(), "using strategy"); got != 3 {
		t.Errorf("log has %d decisions, want 3:\n%s", got, logs.String())
	}
}

func TestAutoNothingAvailable(t *testing.T) {
	conn := balancertest.Dial(t, balancer.Auto{Strategies: []balancer.Strategy{balancer.Static{}}}, "svc.meshmatch.test:50504")
	_, err := calltest.GetTicket(testContext(t), conn)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "no strategy available for svc.meshmatch.test:50504") {
		t.Errorf("GetTicket() = %v, want Unavailable saying no strategy is available", err)
	}
	if d := decision(t, conn); d.Strategy != "" || !strings.Contains(d.Reason, "static: no addresses") {
		t.Errorf("Decision() = %+v, want no strategy and the static reason", d)
	}
}

func TestAutoCloseWhileDetecting(t *testing.T) {
	conn, err := balancer.Auto{Strategies: []balancer.Strategy{blocked{Strategy: balancer.Headless{}, release: make(chan struct{})}}}.Dial("svc.meshmatch.test:50504")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	done := make(chan error, 1)
	go func() { _, err := calltest.GetTicket(ctx, conn, grpc.WaitForReady(true)); done <- err }()
	if err := conn.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
	conn.Close()
	if err := <-done; status.Code(err) != codes.Canceled {
		t.Errorf("GetTicket() interrupted by Close = %v, want code Canceled", err)
	}
}

func TestAutoChoose(t *testing.T) {
	nothing := closedAddr(t)
	a := balancer.Auto{Strategies: []balancer.Strategy{balancer.Sidecar{ProbeAddr: nothing, AdminAddr: nothing}, balancer.Headless{}}}
	d := a.Choose(testContext(t), "svc.meshmatch.test:50504")
	if d.Strategy != "headless" || len(d.Detections) != 2 || d.Detections[0].Available {
		t.Errorf("Choose() = %+v, want headless after an unavailable sidecar", d)
	}
	if det := a.Detect(testContext(t), "svc.meshmatch.test:50504"); !det.Available || det.Strategy != "auto" {
		t.Errorf("Detect() = %+v, want auto available", det)
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestAutoRecoversFromNoStrategy: a chain whose only strategy is unavailable
// at first fails calls with Unavailable, then, once a later detection finds
// it available, uses it.
func TestAutoRecoversFromNoStrategy(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 1)
	agent := istiotest.NewAgent(t)
	agent.SetReady(false)
	sc := balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: closedAddr(t), ReadyTimeout: 50 * time.Millisecond}
	conn := balancertest.Dial(t, balancer.Auto{Strategies: []balancer.Strategy{sc}, DetectTimeout: 50 * time.Millisecond, RedetectInterval: 50 * time.Millisecond}, bs[0].Addr)

	if _, err := calltest.GetTicket(ctx, conn); status.Code(err) != codes.Unavailable {
		t.Fatalf("GetTicket() with no strategy available = %v, want code Unavailable", err)
	}
	probes := agent.Requests()
	agent.SetReady(true)
	if err := agent.WaitRequests(ctx, probes+1); err != nil {
		t.Fatalf("no detection after the first decision: %v", err)
	}
	// The move has no event of its own: poll the decision under ctx.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for decision(t, conn).Strategy != "sidecar" {
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("Decision() = %+v, want sidecar once it is ready", decision(t, conn))
		}
	}
	if _, err := calltest.GetTicket(ctx, conn); err != nil {
		t.Fatalf("GetTicket() after the sidecar became ready = %v", err)
	}
}
