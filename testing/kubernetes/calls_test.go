//go:build kubernetes

package kubernetes

import (
	"context"
	"fmt"
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
		t.Fatalf("%s.Dial(%q) = %v", s.Name(), addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// waitNotServed waits until window consecutive calls succeed and none is
// served by gone.
func waitNotServed(ctx context.Context, conn grpc.ClientConnInterface, gone *balancertest.Backend, window int) error {
	run := 0
	for run < window {
		name, err := calltest.GetTicket(ctx, conn)
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%s still served calls: %w", gone.Name, ctx.Err())
		case err != nil || name == gone.Name:
			run = 0
		default:
			run++
		}
	}
	return nil
}

// spread makes n calls that must all succeed and returns the calls each
// backend served.
func spread(t testing.TB, ctx context.Context, conn grpc.ClientConnInterface, bs []*balancertest.Backend, n int) []int64 {
	t.Helper()
	before := calltest.Counts(bs)
	for i := range n {
		if _, err := calltest.GetTicket(ctx, conn); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	return calltest.Deltas(bs, before)
}
