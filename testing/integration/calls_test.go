//go:build integration

package integration

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
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

// spread makes n calls that must all succeed and returns the calls each
// backend served.
func spread(t testing.TB, ctx context.Context, conn grpc.ClientConnInterface, bs []*balancertest.Backend, n int) []int64 {
	t.Helper()
	before := calltest.Counts(bs)
	for i := range n {
		if _, err := calltest.GetTicket(ctx, conn); err != nil {
			t.Fatalf("call %d: GetTicket() = %v, want nil error", i, err)
		}
	}
	return calltest.Deltas(bs, before)
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
