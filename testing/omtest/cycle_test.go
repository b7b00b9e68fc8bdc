package omtest_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// proposeAll is a runFunc sending ms.
func proposeAll(ms ...*pb.Match) runFunc {
	return func(_ context.Context, _ *pb.MatchProfile, send func(*pb.Match) error) error {
		for _, m := range ms {
			if err := send(m); err != nil {
				return err
			}
		}
		return nil
	}
}

// fetchBoth starts FetchMatches for profiles a and b, waits until both MMFs
// run (so both calls are in one cycle) and closes the window.
func fetchBoth(ctx context.Context, t *testing.T, s *omtest.Server, clock *omtest.FakeClock, cfg *pb.FunctionConfig, started <-chan string) (fetchOut, fetchOut) {
	t.Helper()
	a, b := startFetch(ctx, s, cfg, "a"), startFetch(ctx, s, cfg, "b")
	waitFor(ctx, t, started, "first MMF")
	waitFor(ctx, t, started, "second MMF")
	clock.Advance(windowStep)
	return waitFor(ctx, t, a, "call a"), waitFor(ctx, t, b, "call b")
}

// Item 2: two calls proposing one ticket under different ids share one
// Evaluate stream and get one match between them.
func TestCycleConcurrentCallsShareOneEvaluateStream(t *testing.T) {
	ctx := testCtx(t)
	ev, target := startEval(t, defaultEvalHandler)
	s, clock := remoteCore(t, target)
	tk := createTicket(ctx, t, s, nil)
	cfg, started := startMMF(t, map[string]runFunc{
		"a": proposeAll(scored(t, "a-1", 1, tk)),
		"b": proposeAll(scored(t, "b-1", 2, tk)),
	})
	a, b := fetchBoth(ctx, t, s, clock, cfg, started)
	require.NoError(t, a.err)
	require.NoError(t, b.err)
	total := append(matchIDs(a.matches), matchIDs(b.matches)...)
	assert.Equal(t, []string{"b-1"}, total, "exactly one match in total, the better one")
	streams := ev.streams()
	require.Len(t, streams, 1, "one Evaluate stream for the cycle, got %v", streams)
	assert.ElementsMatch(t, []string{"a-1", "b-1"}, streams[0], "the stream saw both proposals")
}

// Item 2: the same match id from two calls of one cycle fails both.
func TestCycleSameMatchIDFromTwoCallsFailsBoth(t *testing.T) {
	ctx := testCtx(t)
	_, target := startEval(t, defaultEvalHandler)
	s, clock := remoteCore(t, target)
	cfg, started := startMMF(t, map[string]runFunc{
		"a": proposeAll(&pb.Match{MatchId: "1"}),
		"b": proposeAll(&pb.Match{MatchId: "1"}),
	})
	a, b := fetchBoth(ctx, t, s, clock, cfg, started)
	for _, out := range []fetchOut{a, b} {
		assertStatus(t, out.err, codes.Unknown, `error(s) in FetchMatches call. syncErr=[multiple match functions used same match_id: "1"], mmfErr=[<nil>]`)
		assert.Empty(t, out.matches)
	}
}

// Item 3 and 11: the evaluator stream is open before the MMF runs, and a
// match it accepts reaches the caller while the window is still open.
func TestCycleStreamsAcceptedMatchBeforeWindowEnds(t *testing.T) {
	ctx := testCtx(t)
	ev, target := startEval(t, func(_ context.Context, recv func() (*pb.Match, error), send func(string) error) error {
		for {
			m, err := recv()
			if err != nil {
				return nil
			}
			if err := send(m.GetMatchId()); err != nil {
				return err
			}
		}
	})
	s, clock := remoteCore(t, target)
	release := make(chan struct{})
	cfg, _ := startMMF(t, map[string]runFunc{"p": func(ctx context.Context, _ *pb.MatchProfile, send func(*pb.Match) error) error {
		select {
		case <-ev.opened: // the cycle opened its stream before running MMFs
		case <-ctx.Done():
			return ctx.Err()
		}
		if err := send(&pb.Match{MatchId: "early"}); err != nil {
			return err
		}
		<-release
		return nil
	}})
	stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{Config: cfg, Profile: &pb.MatchProfile{Name: "p"}})
	require.NoError(t, err)
	first, err := stream.Recv()
	require.NoError(t, err, "the accepted match streams before the window is over")
	assert.Equal(t, "early", first.GetMatch().GetMatchId())
	close(release)
	clock.Advance(windowStep)
	rest, err := recvAll(stream)
	require.NoError(t, err)
	assert.Empty(t, rest)
}

// waitCtx is a runFunc or evaluator that waits for its context and reports it.
func waitCtx(done chan<- struct{}) func(ctx context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		close(done)
		return ctx.Err()
	}
}

// Item 4: a caller's cancel reaches its MMF; the evaluator's stream is
// cancelled once the window is over and no caller is left. Item 7: a later
// cycle then works.
func TestCycleCallerCancelReachesMMFAndEvaluator(t *testing.T) {
	ctx := testCtx(t)
	mmfDone, evalDone := make(chan struct{}), make(chan struct{})
	evalWait := waitCtx(evalDone)
	var opened atomic.Int32
	ev, target := startEval(t, func(ctx context.Context, recv func() (*pb.Match, error), send func(string) error) error {
		if opened.Add(1) == 1 { // the first stream is stuck: it never reads or answers
			return evalWait(ctx)
		}
		return defaultEvalHandler(ctx, recv, send)
	})
	s, clock := remoteCore(t, target)
	mmfWait := waitCtx(mmfDone)
	cfg, started := startMMF(t, map[string]runFunc{
		"stuck": func(ctx context.Context, _ *pb.MatchProfile, _ func(*pb.Match) error) error { return mmfWait(ctx) },
		"later": proposeAll(&pb.Match{MatchId: "later"}),
	})
	callCtx, cancel := context.WithCancel(ctx)
	out := startFetch(callCtx, s, cfg, "stuck")
	waitFor(ctx, t, started, "the MMF")
	cancel()
	assertStatus(t, waitFor(ctx, t, out, "the cancelled call").err, codes.Canceled, "")
	waitFor(ctx, t, mmfDone, "the MMF's context to be cancelled")
	clock.Advance(windowStep)
	waitFor(ctx, t, evalDone, "the evaluator's context to be cancelled")

	later := startFetch(ctx, s, cfg, "later")
	waitFor(ctx, t, started, "the next cycle's MMF")
	require.NoError(t, waitForTimers(ctx, clock, 1))
	clock.Advance(windowStep)
	res := waitFor(ctx, t, later, "the next cycle")
	require.NoError(t, res.err, "a stuck evaluator must not wedge later cycles")
	assert.Equal(t, []string{"later"}, matchIDs(res.matches))
	assert.Len(t, ev.streams(), 2)
}

// Item 5: the evaluator runs in a cycle with no proposals, and what it says
// reaches the caller.
func TestCycleRunsEvaluatorWithoutProposals(t *testing.T) {
	tests := []struct {
		name   string
		answer []string
		msg    string
	}{
		{name: "clean end", msg: ""},
		{name: "unknown id", answer: []string{"ghost"},
			msg: `error(s) in FetchMatches call. syncErr=[evaluator returned match_id "ghost" which does not correspond to its any match in its input], mmfErr=[<nil>]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			ev, target := startEval(t, func(_ context.Context, recv func() (*pb.Match, error), send func(string) error) error {
				for _, id := range tc.answer {
					if err := send(id); err != nil {
						return err
					}
				}
				_, err := recv()
				_ = err
				return nil
			})
			s, clock := remoteCore(t, target)
			cfg, started := startMMF(t, map[string]runFunc{"p": proposeAll()})
			out := startFetch(ctx, s, cfg, "p")
			waitFor(ctx, t, started, "the MMF")
			clock.Advance(windowStep)
			res := waitFor(ctx, t, out, "the call")
			assert.Equal(t, [][]string{{}}, ev.streams(), "one stream, no proposals")
			if tc.msg == "" {
				require.NoError(t, res.err)
				return
			}
			assertStatus(t, res.err, codes.Unknown, tc.msg)
		})
	}
}

// Item 6: MMFs are cancelled registrationInterval + proposalCollectionInterval
// after the cycle starts, not before.
func TestCycleProposalWindowCancelsMMFAfterBothIntervals(t *testing.T) {
	ctx := testCtx(t)
	_, target := startEval(t, defaultEvalHandler)
	s, clock := remoteCore(t, target,
		omtest.WithRegistrationInterval(time.Second), omtest.WithProposalCollectionInterval(5*time.Second))
	mmfDone := make(chan struct{})
	mmfWait := waitCtx(mmfDone)
	cfg, started := startMMF(t, map[string]runFunc{
		"slow": func(ctx context.Context, _ *pb.MatchProfile, _ func(*pb.Match) error) error { return mmfWait(ctx) },
	})
	out := startFetch(ctx, s, cfg, "slow")
	waitFor(ctx, t, started, "the MMF")
	clock.Advance(time.Second) // the registration window ends
	require.NoError(t, waitForTimers(ctx, clock, 1), "the proposal window is running")
	clock.Advance(5*time.Second - time.Nanosecond)
	require.NoError(t, waitForTimers(ctx, clock, 1), "the proposal window is still running 1ns before its end")
	select {
	case <-mmfDone:
		t.Fatal("the MMF was cancelled before registrationInterval + proposalCollectionInterval")
	default:
	}
	clock.Advance(time.Nanosecond)
	waitFor(ctx, t, mmfDone, "the MMF to be cancelled")
	res := waitFor(ctx, t, out, "the call")
	assertStatus(t, res.err, codes.Unknown, "")
	assert.Contains(t, res.err.Error(), "syncErr=[match function ran longer than proposal window, canceling], mmfErr=[failed to run match function for profile: rpc error: code = Canceled")
}
