package omtest_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// answerWith is an evaluator that reads every proposal, then sends ids.
func answerWith(ids ...string) func(context.Context, func() (*pb.Match, error), func(string) error) error {
	return func(_ context.Context, recv func() (*pb.Match, error), send func(string) error) error {
		for {
			if _, err := recv(); err != nil {
				break
			}
		}
		for _, id := range ids {
			if err := send(id); err != nil {
				return err
			}
		}
		return nil
	}
}

// Item 8: cycle errors reach the caller with code Unknown and Open-Match's
// texts, through real gRPC match function and evaluator servers.
func TestCycleErrorTexts(t *testing.T) {
	const prefix = "error(s) in FetchMatches call. "
	tests := []struct {
		name     string
		mmf      runFunc
		answer   []string
		badPort  bool
		msg      string // exact, when set
		contains string
	}{
		{name: "same id twice in one call", mmf: proposeAll(&pb.Match{MatchId: "1"}, &pb.Match{MatchId: "1"}), answer: []string{"1"},
			msg: prefix + `syncErr=[MatchMakingFunction returned same match_id twice: "1"], mmfErr=[<nil>]`},
		{name: "evaluator repeats an id", mmf: proposeAll(&pb.Match{MatchId: "1"}), answer: []string{"1", "1"},
			msg: prefix + `syncErr=[evaluator returned same match_id twice: "1"], mmfErr=[<nil>]`},
		{name: "evaluator invents an id", mmf: proposeAll(&pb.Match{MatchId: "1"}), answer: []string{"2"},
			msg: prefix + `syncErr=[evaluator returned match_id "2" which does not correspond to its any match in its input], mmfErr=[<nil>]`},
		{name: "unreachable match function", badPort: true,
			contains: prefix + "syncErr=[<nil>], mmfErr=[failed to run match function for profile: rpc error: code = Unavailable"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			_, target := startEval(t, answerWith(tc.answer...))
			s, clock := remoteCore(t, target)
			cfg, started := startMMF(t, map[string]runFunc{"p": tc.mmf})
			if tc.badPort {
				cfg.Port = int32(closedPort(t))
			}
			out := startFetch(ctx, s, cfg, "p")
			if !tc.badPort {
				waitFor(ctx, t, started, "the MMF")
			}
			require.NoError(t, waitForTimers(ctx, clock, 1))
			clock.Advance(windowStep)
			res := waitFor(ctx, t, out, "the call")
			assertStatus(t, res.err, codes.Unknown, tc.msg)
			if tc.contains != "" {
				assert.Contains(t, res.err.Error(), tc.contains)
			}
		})
	}
}

// Item 7: an evaluator stream that hangs (never reads, never answers) does
// not wedge the core: once its caller has left, later calls are served.
func TestCycleStuckEvaluatorDoesNotWedgeLaterCycles(t *testing.T) {
	ctx := testCtx(t)
	var streams atomic.Int32
	ev, target := startEval(t, func(ctx context.Context, recv func() (*pb.Match, error), send func(string) error) error {
		if streams.Add(1) == 1 {
			<-ctx.Done() // stuck: only its context ends it
			return ctx.Err()
		}
		return defaultEvalHandler(ctx, recv, send)
	})
	s, clock := remoteCore(t, target)
	cfg, started := startMMF(t, map[string]runFunc{
		"first": proposeAll(&pb.Match{MatchId: "first"}),
		"later": proposeAll(&pb.Match{MatchId: "later"}),
	})
	callCtx, cancel := context.WithCancel(ctx)
	first := startFetch(callCtx, s, cfg, "first")
	waitFor(ctx, t, started, "the first MMF")
	require.NoError(t, waitForTimers(ctx, clock, 1))
	clock.Advance(windowStep)
	waitFor(ctx, t, ev.opened, "the stuck evaluator stream")
	cancel()
	assertStatus(t, waitFor(ctx, t, first, "the cancelled call").err, codes.Canceled, "")

	later := startFetch(ctx, s, cfg, "later")
	waitFor(ctx, t, started, "the next cycle's MMF")
	require.NoError(t, waitForTimers(ctx, clock, 1))
	clock.Advance(windowStep)
	res := waitFor(ctx, t, later, "the next cycle")
	require.NoError(t, res.err)
	assert.Equal(t, []string{"later"}, matchIDs(res.matches))
}
