package omtest_test

import (
	"context"
	"errors"
	"io"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshmatch/meshmatch/internal/defaulteval"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// t0 is the start time of every fake clock in these tests.
var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// testCtx is the deadline every test waits under.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// fakeClocks maps each core newCore started to its clock, so that fetch can
// close the registration window of a core on a fake clock.
var fakeClocks sync.Map // *omtest.Server → *omtest.FakeClock

// newCore starts a core on a fake clock.
func newCore(t *testing.T, opts ...omtest.Option) (*omtest.Server, *omtest.FakeClock) {
	t.Helper()
	clock := omtest.NewFakeClock(t0)
	s := omtest.NewServer(t, append([]omtest.Option{omtest.WithClock(clock)}, opts...)...)
	fakeClocks.Store(s, clock)
	t.Cleanup(func() { fakeClocks.Delete(s) })
	return s, clock
}

// windowStep is how far fetch advances a fake clock to end a cycle's
// registration window: longer than any window these tests configure, shorter
// than every proposal window but the overrun test's.
const windowStep = time.Second

// advanceWindow advances clock by windowStep once a cycle has started its
// registration window. The returned stop waits for it (or gives up).
func advanceWindow(ctx context.Context, clock *omtest.FakeClock) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if clock.WaitForTimers(ctx, 1) == nil {
			clock.Advance(windowStep)
		}
	}()
	return func() { cancel(); <-done }
}

func createTicket(ctx context.Context, t *testing.T, s *omtest.Server, sf *pb.SearchFields) *pb.Ticket {
	t.Helper()
	tk, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{SearchFields: sf}})
	require.NoError(t, err)
	return tk
}

// createTickets creates n empty tickets over a few concurrent callers, so
// that 10 000 of them fit a test deadline under -race on a busy machine.
func createTickets(ctx context.Context, t *testing.T, s *omtest.Server, n int) {
	t.Helper()
	const workers = 8
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				if _, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// queryIDs returns the sorted ids QueryTicketIds streams for pool.
func queryIDs(ctx context.Context, t *testing.T, s *omtest.Server, pool *pb.Pool) []string {
	t.Helper()
	ids, err := queryIDsErr(ctx, s, pool)
	require.NoError(t, err)
	return ids
}

func queryIDsErr(ctx context.Context, s *omtest.Server, pool *pb.Pool) ([]string, error) {
	stream, err := s.Query().QueryTicketIds(ctx, &pb.QueryTicketIdsRequest{Pool: pool})
	if err != nil {
		return nil, err
	}
	ids := []string{}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			sort.Strings(ids)
			return ids, nil
		}
		if err != nil {
			return nil, err
		}
		ids = append(ids, resp.GetIds()...)
	}
}

// recvAll reads a server stream to its end, returning the messages and the
// final error (nil on a clean EOF).
func recvAll[T any](stream grpc.ServerStreamingClient[T]) ([]*T, error) {
	var out []*T
	for {
		m, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
}

// waitForTimers waits until clock has n pending timers.
func waitForTimers(ctx context.Context, clock *omtest.FakeClock, n int) error {
	return clock.WaitForTimers(ctx, n)
}

// fetch runs FetchMatches and returns the accepted matches and final error.
// On a core of newCore it advances the fake clock past the window.
func fetch(ctx context.Context, s *omtest.Server, profile string) ([]*pb.Match, error) {
	if clock, ok := fakeClocks.Load(s); ok {
		defer advanceWindow(ctx, clock.(*omtest.FakeClock))()
	}
	return fetchNow(ctx, s, profile)
}

// fetchNow runs FetchMatches without touching any clock.
func fetchNow(ctx context.Context, s *omtest.Server, profile string) ([]*pb.Match, error) {
	stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{
		Config:  &pb.FunctionConfig{Host: "127.0.0.1", Port: 1},
		Profile: &pb.MatchProfile{Name: profile},
	})
	if err != nil {
		return nil, err
	}
	resps, err := recvAll(stream)
	var ms []*pb.Match
	for _, r := range resps {
		ms = append(ms, r.GetMatch())
	}
	return ms, err
}

func matchIDs(ms []*pb.Match) []string {
	ids := []string{}
	for _, m := range ms {
		ids = append(ids, m.GetMatchId())
	}
	sort.Strings(ids)
	return ids
}

// scored builds a proposal with a default-evaluator score.
func scored(t *testing.T, id string, score float64, tickets ...*pb.Ticket) *pb.Match {
	t.Helper()
	a, err := anypb.New(&pb.DefaultEvaluationCriteria{Score: score})
	require.NoError(t, err)
	return &pb.Match{MatchId: id, Tickets: tickets, Extensions: map[string]*anypb.Any{"evaluation_input": a}}
}

// assertStatus checks err's gRPC code and message.
func assertStatus(t *testing.T, err error, code codes.Code, msg string) {
	t.Helper()
	st, _ := status.FromError(err)
	assert.Equal(t, code, st.Code(), "code = %v, want %v (err %v)", st.Code(), code, err)
	if msg != "" {
		assert.Equal(t, msg, st.Message(), "message = %q, want %q", st.Message(), msg)
	}
}

// defaultEvaluate mirrors the core's default evaluator for wrapping tests.
var defaultEvaluate = defaulteval.Evaluate
