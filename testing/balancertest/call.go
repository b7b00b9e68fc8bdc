package balancertest

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
)

// Setup is what a strategy's harness returns.
type Setup struct {
	// Strategy is the strategy under test.
	Strategy balancer.Strategy
	// Addr is the logical "host:port" passed to Strategy.Dial.
	Addr string
	// SetBackends makes discovery return exactly the live backends. It may be
	// nil when FixedMembership is true.
	SetBackends func(t testing.TB, live []*Backend)
	// DialOptions are extra dial options (for example credentials); may be nil.
	DialOptions []grpc.DialOption
	// FixedMembership marks strategies whose set of backends cannot change
	// after Dial (such as balancer.Static). The suite then checks that the
	// strategy keeps using exactly its backends instead of following
	// membership changes.
	FixedMembership bool
}

// Harness builds a Setup for a strategy whose discovery initially returns
// backends.
type Harness func(t testing.TB, backends []*Backend) Setup

// testTimeout bounds every wait of the suite.
const testTimeout = 30 * time.Second

// dial dials s and closes the connection on t.Cleanup. The suite's own
// options come first so that s.DialOptions override them.
func dial(t testing.TB, s Setup) balancer.Conn {
	t.Helper()
	conn, err := s.Strategy.Dial(s.Addr, dialOptions(s)...)
	if err != nil {
		t.Fatalf("balancertest: %s.Dial(%q) = %v, want nil error", s.Strategy.Name(), s.Addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// dialOptions returns the suite's dial options followed by s.DialOptions.
func dialOptions(s Setup) []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 50 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 500 * time.Millisecond},
			MinConnectTimeout: time.Second,
		}),
	}
	return append(opts, s.DialOptions...)
}

// waitNotServed issues calls, each waiting for the connection to be ready,
// until `window` consecutive successful calls were not served by gone, or
// ctx ends.
func waitNotServed(ctx context.Context, conn grpc.ClientConnInterface, gone *Backend, window int) error {
	return calltest.WaitNotServed(ctx, conn, gone.Name, window, calltest.MaxWaitCalls, grpc.WaitForReady(true))
}
