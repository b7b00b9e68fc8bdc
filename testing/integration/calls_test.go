//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// fastReconnect makes connections retry a dead backend quickly.
var fastReconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 200 * time.Millisecond},
	MinConnectTimeout: time.Second,
})

// dial dials addr with s in plaintext and closes the connection on
// t.Cleanup.
func dial(t testing.TB, s balancer.Strategy, addr string, opts ...grpc.DialOption) balancer.Conn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), fastReconnect}, opts...)
	conn, err := s.Dial(addr, opts...)
	if err != nil {
		t.Fatalf("%s.Dial(%q) = %v, want nil error", s.Name(), addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// getTicket makes one GetTicket call and returns the name of the backend
// that served it.
func getTicket(ctx context.Context, conn grpc.ClientConnInterface, opts ...grpc.CallOption) (string, error) {
	tk, err := pb.NewFrontendServiceClient(conn).GetTicket(ctx, &pb.GetTicketRequest{TicketId: "t"}, opts...)
	return tk.GetId(), err
}

// getTicketRetry is an idempotent call with one retry on Unavailable, the
// way omclient retries GetTicket. firstErr is the first attempt's error.
func getTicketRetry(ctx context.Context, conn grpc.ClientConnInterface) (name string, firstErr, err error) {
	name, err = getTicket(ctx, conn)
	if status.Code(err) != codes.Unavailable {
		return name, err, err
	}
	firstErr = err
	name, err = getTicket(ctx, conn)
	return name, firstErr, err
}

// counts returns each backend's call count.
func counts(bs []*balancertest.Backend) []int64 {
	c := make([]int64, len(bs))
	for i, b := range bs {
		c[i] = b.Calls()
	}
	return c
}

// since returns the calls each backend served since before.
func since(bs []*balancertest.Backend, before []int64) []int64 {
	d := counts(bs)
	for i := range d {
		d[i] -= before[i]
	}
	return d
}

// waitServed makes calls until every backend in want has served one since
// the wait began, or ctx ends.
func waitServed(ctx context.Context, conn grpc.ClientConnInterface, want []*balancertest.Backend) error {
	before := counts(want)
	var lastErr error
	for slices.Min(since(want, before)) == 0 {
		if ctx.Err() != nil {
			return fmt.Errorf("calls served per backend %v, last error %v: %w", since(want, before), lastErr, ctx.Err())
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		if _, err := getTicket(cctx, conn, grpc.WaitForReady(true)); err != nil {
			lastErr = err
		}
		cancel()
	}
	return nil
}

// spread makes n calls that must all succeed and returns the calls each
// backend served.
func spread(t testing.TB, ctx context.Context, conn grpc.ClientConnInterface, bs []*balancertest.Backend, n int) []int64 {
	t.Helper()
	before := counts(bs)
	for i := range n {
		if _, err := getTicket(ctx, conn); err != nil {
			t.Fatalf("call %d: GetTicket() = %v, want nil error", i, err)
		}
	}
	return since(bs, before)
}

// ips returns the backends' IP addresses.
func ips(bs []*balancertest.Backend) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i], _, _ = net.SplitHostPort(b.Addr)
	}
	return out
}

// port returns the port all backends share.
func port(bs []*balancertest.Backend) string {
	_, p, _ := net.SplitHostPort(bs[0].Addr)
	return p
}
