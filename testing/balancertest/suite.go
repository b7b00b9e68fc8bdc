package balancertest

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/internal/calltest"
)

// Run runs the conformance suite against the strategy built by h: it spreads
// calls over the backends, follows membership changes (a 4th backend is
// added, then one is removed; strategies with FixedMembership must keep to
// their list instead), survives a dead backend (idempotent calls with one
// retry on Unavailable all succeed), Detect returns by its deadline, Dial
// rejects invalid addresses, and Close is idempotent.
//
// Run checks for leaked goroutines only through the caller's TestMain (use
// goleak.VerifyTestMain).
func Run(t *testing.T, h Harness) { RunOn(t, nil, h) }

// RunOn is Run with the backends on hosts (at least 4 IP addresses of this
// machine, such as pod addresses in a network namespace) instead of
// 127.0.0.1–127.0.0.4; nil hosts is Run.
func RunOn(t *testing.T, hosts []string, h Harness) {
	if hosts != nil && len(hosts) < 4 {
		t.Fatalf("balancertest: RunOn needs at least 4 hosts, got %v", hosts)
	}
	t.Run("Spread", func(t *testing.T) { testSpread(t, hosts, h) })
	t.Run("Membership", func(t *testing.T) { testMembership(t, hosts, h) })
	t.Run("DeadBackend", func(t *testing.T) { testDeadBackend(t, hosts, h) })
	t.Run("DetectDeadline", func(t *testing.T) { testDetectDeadline(t, hosts, h) })
	t.Run("InvalidAddr", func(t *testing.T) { testInvalidAddr(t, hosts, h) })
	t.Run("Close", func(t *testing.T) { testClose(t, hosts, h) })
}

// startBackends starts n backends on hosts, or on loopback for nil hosts.
func startBackends(t testing.TB, hosts []string, n int) []*Backend {
	t.Helper()
	if hosts == nil {
		return StartBackends(t, n)
	}
	return StartBackendsAt(t, hosts[:n])
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// assertShares checks that each backend served at least 20% of calls/len(bs).
func assertShares(t *testing.T, bs []*Backend, got []int64, calls int) {
	t.Helper()
	min := int64(calls) / int64(len(bs)) / 5
	for i, b := range bs {
		if got[i] < min {
			t.Errorf("%s served %d of %d calls (all: %v), want at least %d", b.Name, got[i], calls, got, min)
		}
	}
}

// spread makes calls calls and returns the calls each backend served.
func spread(t *testing.T, ctx context.Context, conn grpc.ClientConnInterface, bs []*Backend, calls int) []int64 {
	t.Helper()
	before := calltest.Counts(bs)
	for i := range calls {
		if _, err := calltest.GetTicket(ctx, conn); err != nil {
			t.Fatalf("call %d: calltest.GetTicket() = %v, want nil error", i, err)
		}
	}
	return calltest.Deltas(bs, before)
}

func testSpread(t *testing.T, hosts []string, h Harness) {
	ctx := testContext(t)
	bs := startBackends(t, hosts, 3)
	conn := dial(t, h(t, bs))
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("waiting for every backend to serve a call: %v", err)
	}
	assertShares(t, bs, spread(t, ctx, conn, bs, 300), 300)
}

func testMembership(t *testing.T, hosts []string, h Harness) {
	ctx := testContext(t)
	all := startBackends(t, hosts, 4)
	s := h(t, all[:3])
	conn := dial(t, s)
	if err := calltest.WaitServed(ctx, conn, all[:3]); err != nil {
		t.Fatalf("waiting for every backend to serve a call: %v", err)
	}
	if s.FixedMembership {
		got := spread(t, ctx, conn, all, 90)
		if got[3] != 0 {
			t.Errorf("%s (not in the fixed list) served %d calls, want 0", all[3].Name, got[3])
		}
		assertShares(t, all[:3], got, 90)
		return
	}
	s.SetBackends(t, all)
	if err := calltest.WaitServed(ctx, conn, all[3:]); err != nil {
		t.Fatalf("after adding %s: %v", all[3].Name, err)
	}
	s.SetBackends(t, all[1:])
	if err := waitNotServed(ctx, conn, all[0], 30); err != nil {
		t.Fatalf("after removing %s: %v", all[0].Name, err)
	}
	if err := calltest.WaitServed(ctx, conn, all[1:]); err != nil {
		t.Fatalf("after removing %s: %v", all[0].Name, err)
	}
	got := spread(t, ctx, conn, all, 90)
	if got[0] != 0 {
		t.Errorf("removed %s served %d calls, want 0", all[0].Name, got[0])
	}
	assertShares(t, all[1:], got[1:], 90)
}

func testDeadBackend(t *testing.T, hosts []string, h Harness) {
	ctx := testContext(t)
	bs := startBackends(t, hosts, 3)
	conn := dial(t, h(t, bs))
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("waiting for every backend to serve a call: %v", err)
	}
	bs[1].Stop()
	for i := range 100 {
		name, _, err := calltest.GetTicketRetry(ctx, conn)
		if err != nil {
			t.Fatalf("call %d after stopping %s: calltest.GetTicket() with one retry = %v, want nil error", i, bs[1].Name, err)
		}
		if name == bs[1].Name {
			t.Fatalf("call %d served by stopped %s", i, name)
		}
	}
	bs[1].Restart(t)
	if err := calltest.WaitServed(ctx, conn, bs[1:2]); err != nil {
		t.Fatalf("after restarting %s: %v", bs[1].Name, err)
	}
}

func testDetectDeadline(t *testing.T, hosts []string, h Harness) {
	bs := startBackends(t, hosts, 1)
	s := h(t, bs)
	for _, tc := range []struct {
		name    string
		timeout time.Duration
	}{
		{name: "deadline", timeout: 300 * time.Millisecond},
		{name: "canceled", timeout: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			done := make(chan string, 1)
			go func() { done <- s.Strategy.Detect(ctx, s.Addr).Strategy }()
			grace := time.NewTimer(tc.timeout + testTimeout)
			defer grace.Stop()
			select {
			case got := <-done:
				if want := s.Strategy.Name(); got != want {
					t.Errorf("Detect().Strategy = %q, want %q", got, want)
				}
			case <-grace.C:
				t.Fatalf("Detect() with a %v deadline did not return within %v of it", tc.timeout, testTimeout)
			}
		})
	}
}

func testInvalidAddr(t *testing.T, hosts []string, h Harness) {
	s := h(t, startBackends(t, hosts, 1))
	for _, addr := range []string{"", "missing-port", "host:", "host:99999", "host:-1", ":50051", "bad host!:80"} {
		conn, err := s.Strategy.Dial(addr, dialOptions(s)...)
		if err == nil {
			conn.Close()
			t.Errorf("%s.Dial(%q) = nil error, want an error", s.Strategy.Name(), addr)
		}
	}
}

func testClose(t *testing.T, hosts []string, h Harness) {
	ctx := testContext(t)
	bs := startBackends(t, hosts, 1)
	conn := dial(t, h(t, bs))
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("waiting for a call to succeed: %v", err)
	}
	if err := conn.Close(); err != nil {
		t.Errorf("first Close() = %v, want nil", err)
	}
	conn.Close() // must not panic or block
	if got := conn.GetState(); got != connectivity.Shutdown {
		t.Errorf("GetState() after Close = %v, want %v", got, connectivity.Shutdown)
	}
	if _, err := calltest.GetTicket(ctx, conn); status.Code(err) != codes.Canceled {
		t.Errorf("calltest.GetTicket() after Close = %v, want code %v", err, codes.Canceled)
	}
}
