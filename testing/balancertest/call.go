package balancertest

import (
	"context"
	"fmt"
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
const testTimeout = 10 * time.Second

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

// GetTicket makes one GetTicket call on conn and returns the name of the
// backend that served it.
func GetTicket(ctx context.Context, conn grpc.ClientConnInterface, opts ...grpc.CallOption) (string, error) {
	tk, err := pb.NewFrontendServiceClient(conn).GetTicket(ctx, &pb.GetTicketRequest{TicketId: "t"}, opts...)
	if err != nil {
		return "", err
	}
	return tk.GetId(), nil
}

// GetTicketRetry is an idempotent call with one retry on Unavailable, the way
// omclient retries GetTicket. firstErr is the first attempt's error.
func GetTicketRetry(ctx context.Context, conn grpc.ClientConnInterface) (name string, firstErr, err error) {
	name, err = GetTicket(ctx, conn)
	if status.Code(err) != codes.Unavailable {
		return name, err, err
	}
	firstErr = err
	name, err = GetTicket(ctx, conn)
	return name, firstErr, err
}

// Counts returns each backend's call count.
func Counts(bs []*Backend) []int64 {
	c := make([]int64, len(bs))
	for i, b := range bs {
		c[i] = b.Calls()
	}
	return c
}

// Deltas returns the calls each backend served since before (a result of
// Counts).
func Deltas(bs []*Backend, before []int64) []int64 {
	d := Counts(bs)
	for i := range d {
		d[i] -= before[i]
	}
	return d
}

// WaitServed issues calls until every backend in want has served at least
// one call since the function started, or ctx ends. Calls wait for the
// connection to be ready.
func WaitServed(ctx context.Context, conn grpc.ClientConnInterface, want []*Backend) error {
	before := Counts(want)
	var lastErr error
	for {
		if slices.Min(Deltas(want, before)) > 0 {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("calls served per backend %v (since start of wait), last error %v: %w", Deltas(want, before), lastErr, ctx.Err())
		}
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		_, err := GetTicket(cctx, conn, grpc.WaitForReady(true))
		cancel()
		if err != nil {
			lastErr = err
		}
	}
}

// waitNotServed issues calls until `window` consecutive successful calls were
// not served by gone, or ctx ends.
func waitNotServed(ctx context.Context, conn grpc.ClientConnInterface, gone *Backend, window int) error {
	run := 0
	var lastErr error
	for run < window {
		if ctx.Err() != nil {
			return fmt.Errorf("%s still served calls, last error %v: %w", gone.Name, lastErr, ctx.Err())
		}
		name, err := GetTicket(ctx, conn, grpc.WaitForReady(true))
		switch {
		case err != nil:
			lastErr = err
			run = 0
		case name == gone.Name:
			run = 0
		default:
			run++
		}
	}
	return nil
}
