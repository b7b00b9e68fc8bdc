//go:build integration

package integration

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
)

// sidecarService is the ClusterIP Service name the app dials; DNS resolves
// it to nginx's one address, the way a Service VIP is one address.
const sidecarService = "frontend.meshmatch.test"

// sidecarSetup starts three backends behind nginx and returns them, nginx,
// a Sidecar connection to sidecarService (which resolves to nginx) and the
// number of TCP connections that connection has dialed.
func sidecarSetup(t *testing.T) ([]*balancertest.Backend, *nginx, balancer.Conn, *atomic.Int64) {
	t.Helper()
	bs := balancertest.StartBackends(t, 3)
	upstreams := make([]string, len(bs))
	for i, b := range bs {
		upstreams[i] = b.Addr
	}
	ng := startNginx(t, upstreams)
	host, nginxPort, _ := net.SplitHostPort(ng.addr)
	dns := dnstest.NewServer(t)
	dns.Set(sidecarService, host)
	agent := istiotest.NewAgent(t)
	s := balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: agent.Addr(), DNS: balancer.DNS{Server: dns.Addr(), RefreshInterval: testRefresh}}
	dials := new(atomic.Int64)
	dialer := grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
		dials.Add(1)
		var d net.Dialer
		return d.DialContext(ctx, "tcp", addr)
	})
	conn := balancertest.Dial(t, s, net.JoinHostPort(sidecarService, nginxPort), dialer)
	return bs, ng, conn, dials
}

func TestSidecarNginxSpreadsPerRequest(t *testing.T) {
	const calls = 300
	ctx := testContext(t)
	bs, ng, conn, dials := sidecarSetup(t)
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("waiting for every backend to serve a call through nginx: %v", err)
	}

	got := spread(t, ctx, conn, bs, calls)
	// nginx's round robin over equal servers takes them in turn per request.
	for i, b := range bs {
		if got[i] < calls/3-calls/30 || got[i] > calls/3+calls/30 {
			t.Errorf("%s served %d of %d calls (all: %v), want %d ± %d", b.Name, got[i], calls, got, calls/3, calls/30)
		}
	}
	if n := dials.Load(); n != 1 {
		t.Errorf("the client dialed %d connections to nginx, want 1", n)
	}
	if s := conn.GetState(); s != connectivity.Ready {
		t.Errorf("GetState() = %v, want %v", s, connectivity.Ready)
	}
	entries, err := ng.waitAccessLog(ctx, int(sum(calltest.Counts(bs))))
	if err != nil {
		t.Fatal(err)
	}
	clientConns := map[string]int{}
	for _, e := range entries {
		clientConns[e.Conn]++
	}
	if len(clientConns) != 1 {
		t.Errorf("nginx logged %d calls on client connections %v (serial: calls), want one connection", len(entries), clientConns)
	}
	t.Logf("%d calls over %d client connection(s) to nginx; the last %d per backend: %v", len(entries), len(clientConns), calls, got)
}

func TestSidecarNginxBackendDown(t *testing.T) {
	ctx := testContext(t)
	bs, ng, conn, _ := sidecarSetup(t)
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("waiting for every backend to serve a call through nginx: %v", err)
	}

	out := callsAcrossStop(t, ctx, conn, bs[1])
	entries, err := ng.waitAccessLog(ctx, int(sum(calltest.Counts(bs))))
	if err != nil {
		t.Fatal(err)
	}
	var passedOn int
	for _, e := range entries {
		if len(e.Upstream) > 1 {
			passedOn++
		}
	}
	t.Logf("around stopping %s: %d calls, %d succeeded on their retry, %d in flight failed for good; nginx passed %d request(s) on to the next backend",
		bs[1].Name, out.calls, out.firstFailures, out.lostInFlight, passedOn)

	bs[1].Restart(t)
	if err := calltest.WaitServed(ctx, conn, bs[1:2]); err != nil {
		t.Fatalf("after restarting %s: %v", bs[1].Name, err)
	}

	for _, b := range bs {
		b.Stop()
	}
	if _, err := calltest.GetTicket(ctx, conn); status.Code(err) != codes.Unavailable {
		t.Errorf("GetTicket() with every backend stopped = %v, want code %v (nginx answers 502)", err, codes.Unavailable)
	}
}

// sum returns the sum of c.
func sum(c []int64) int64 {
	var s int64
	for _, v := range c {
		s += v
	}
	return s
}

// callResult is the outcome of one idempotent call with one retry.
type callResult struct {
	name           string
	firstErr, err  error
	startedStopped bool // the call began after the backend had stopped
}

// stopOutcome counts what happened to the calls around a backend's stop.
type stopOutcome struct {
	calls         int // calls made in all
	firstFailures int // calls that succeeded on their retry
	lostInFlight  int // calls in flight at the stop that failed for good
}

// callsAcrossStop stops gone while four callers make idempotent calls with
// one retry on Unavailable. Every call that began after the stop must
// succeed and not be served by gone. A call in flight at the stop may fail
// with Unavailable (nginx answers 502 when the backend sent nothing yet) or
// Internal (nginx resets the stream when the backend dies mid-response).
func callsAcrossStop(t *testing.T, ctx context.Context, conn grpc.ClientConnInterface, gone *balancertest.Backend) stopOutcome {
	t.Helper()
	const callers, before, after = 4, 100, 400
	var stopped atomic.Bool
	results := make(chan callResult)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			for {
				r := callResult{startedStopped: stopped.Load()}
				r.name, r.firstErr, r.err = calltest.GetTicketRetry(ctx, conn)
				select {
				case results <- r:
				case <-done:
					return
				}
			}
		})
	}
	defer wg.Wait()
	defer close(done)
	var out stopOutcome
	for afterStop := 0; afterStop < after; {
		r := <-results
		out.calls++
		if out.calls == before {
			gone.Stop()
			stopped.Store(true)
		}
		if r.startedStopped {
			afterStop++
		}
		code := status.Code(r.err)
		switch {
		case r.err == nil && r.startedStopped && r.name == gone.Name:
			t.Fatalf("call %d, begun after stopping %s, was served by it", out.calls, gone.Name)
		case r.err == nil && r.firstErr != nil:
			out.firstFailures++
			t.Logf("call %d (begun after the stop: %v): first attempt failed: %v", out.calls, r.startedStopped, r.firstErr)
		case r.err == nil:
		case !r.startedStopped && (code == codes.Unavailable || code == codes.Internal):
			out.lostInFlight++
			t.Logf("call %d, in flight when %s stopped: %v", out.calls, gone.Name, r.err)
		default:
			t.Fatalf("call %d: GetTicket() with one retry = %v, want nil error", out.calls, r.err)
		}
	}
	return out
}
