package omtest_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

var errBoom = errors.New("boom")

// acceptAsRead is a gRPC evaluator that accepts every proposal as it reads it.
func acceptAsRead(_ context.Context, recv func() (*pb.Match, error), send func(string) error) error {
	for {
		m, err := recv()
		if err != nil {
			return nil
		}
		if err := send(m.GetMatchId()); err != nil {
			return err
		}
	}
}

// streamLog records what an in-process StreamEvaluateFunc saw, one entry
// per cycle.
type streamLog struct {
	mu     sync.Mutex
	cycles [][]string
}

// acceptAsReadFunc is acceptAsRead as an in-process StreamEvaluateFunc.
func (l *streamLog) acceptAsReadFunc(ctx context.Context, proposals <-chan *pb.Match, accept func(string) error) error {
	l.mu.Lock()
	n := len(l.cycles)
	l.cycles = append(l.cycles, []string{})
	l.mu.Unlock()
	for {
		select {
		case m, ok := <-proposals:
			if !ok {
				return nil
			}
			l.mu.Lock()
			l.cycles[n] = append(l.cycles[n], m.GetMatchId())
			l.mu.Unlock()
			if err := accept(m.GetMatchId()); err != nil {
				return err
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (l *streamLog) streams() [][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := [][]string{}
	for _, c := range l.cycles {
		out = append(out, append([]string{}, c...))
	}
	return out
}

// openFetch opens a FetchMatches stream for profile.
func openFetch(ctx context.Context, t *testing.T, s *omtest.Server, cfg *pb.FunctionConfig, profile string) grpc.ServerStreamingClient[pb.FetchMatchesResponse] {
	t.Helper()
	stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{Config: cfg, Profile: &pb.MatchProfile{Name: profile}})
	require.NoError(t, err)
	return stream
}

// The issue-18 case: two calls in one registration window, one MMF sending
// the same match_id twice (an error for its caller), a second call joining
// half-way through the window whose one proposal the evaluator accepts as it
// reads it. The accepted match reaches the second caller while the window
// is open: the fake clock has not reached the window's end, and a third call
// made after the match arrived still joins the same cycle (one evaluator
// stream saw every proposal). Only then is the window closed.
func TestCycleDeliversAcceptedMatchWhileWindowOpen(t *testing.T) {
	const window = 200 * time.Millisecond
	for _, kind := range []string{"grpc evaluator", "in-process stream evaluator"} {
		t.Run(kind, func(t *testing.T) {
			ctx := testCtx(t)
			var s *omtest.Server
			var clock *omtest.FakeClock
			var streams func() [][]string
			if kind == "grpc evaluator" {
				ev, target := startEval(t, acceptAsRead)
				s, clock = remoteCore(t, target, omtest.WithRegistrationInterval(window))
				streams = ev.streams
			} else {
				log := &streamLog{}
				s, clock = newCore(t, omtest.WithStreamEvaluator(log.acceptAsReadFunc), omtest.WithRegistrationInterval(window))
				streams = log.streams
			}
			cfg, started := startMMF(t, map[string]runFunc{
				"dup":   proposeAll(&pb.Match{MatchId: "d"}, &pb.Match{MatchId: "d"}),
				"late":  proposeAll(&pb.Match{MatchId: "late-1"}),
				"later": proposeAll(&pb.Match{MatchId: "later-1"}),
			})

			dup := startFetch(ctx, s, cfg, "dup")
			waitFor(ctx, t, started, "the first MMF")
			require.NoError(t, waitForTimers(ctx, clock, 1), "the registration window is running")
			clock.Advance(window / 2) // half-way through the window

			late := openFetch(ctx, t, s, cfg, "late")
			first, err := late.Recv()
			require.NoError(t, err, "the late call's accepted match streams before the window ends")
			assert.Equal(t, "late-1", first.GetMatch().GetMatchId())

			later := openFetch(ctx, t, s, cfg, "later")
			first, err = later.Recv()
			require.NoError(t, err, "a call made after that still joins the open window")
			assert.Equal(t, "later-1", first.GetMatch().GetMatchId())
			assert.Len(t, streams(), 1, "every call so far is in the first cycle: its window is still open")

			clock.Advance(window / 2) // the window ends
			for name, stream := range map[string]grpc.ServerStreamingClient[pb.FetchMatchesResponse]{"late": late, "later": later} {
				rest, err := recvAll(stream)
				require.NoError(t, err, "call %s", name)
				assert.Empty(t, rest, "call %s: nothing more after its one match", name)
			}
			res := waitFor(ctx, t, dup, "the call whose MMF repeated an id")
			assertStatus(t, res.err, codes.Unknown, `error(s) in FetchMatches call. syncErr=[MatchMakingFunction returned same match_id twice: "d"], mmfErr=[<nil>]`)
			got := streams()
			require.Len(t, got, 1, "one evaluation for the whole cycle")
			assert.ElementsMatch(t, []string{"d", "late-1", "later-1"}, got[0], "the evaluator saw every proposal once")
		})
	}
}

// An in-process stream evaluator runs from the start of the cycle: it is
// running, with its input open, before any match function has proposed.
func TestStreamEvaluatorStartsWithCycle(t *testing.T) {
	ctx := testCtx(t)
	running := make(chan struct{})
	s, clock := newCore(t,
		omtest.WithStreamEvaluator(func(ctx context.Context, proposals <-chan *pb.Match, accept func(string) error) error {
			close(running)
			for m := range proposals {
				if err := accept(m.GetMatchId()); err != nil {
					return err
				}
			}
			return nil
		}),
		omtest.WithMatchFunction(func(ctx context.Context, _ *pb.MatchProfile, _ map[string][]*pb.Ticket) ([]*pb.Match, error) {
			select {
			case <-running:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return []*pb.Match{{MatchId: "m"}}, nil
		}))
	stream := openFetch(ctx, t, s, &pb.FunctionConfig{Host: "127.0.0.1", Port: 1}, "p")
	first, err := stream.Recv()
	require.NoError(t, err)
	assert.Equal(t, "m", first.GetMatch().GetMatchId())
	clock.Advance(windowStep)
	rest, err := recvAll(stream)
	require.NoError(t, err)
	assert.Empty(t, rest)
}

// A stream evaluator's errors and panics end the cycle's calls with
// Open-Match's message shape, after the matches it accepted before.
func TestStreamEvaluatorErrors(t *testing.T) {
	tests := []struct {
		name      string
		eval      omtest.StreamEvaluateFunc
		msg       string
		wantMatch []string
	}{
		{
			name: "error after accepting",
			eval: func(_ context.Context, proposals <-chan *pb.Match, accept func(string) error) error {
				m := <-proposals
				if err := accept(m.GetMatchId()); err != nil {
					return err
				}
				return errBoom
			},
			msg:       "error(s) in FetchMatches call. syncErr=[boom], mmfErr=[<nil>]",
			wantMatch: []string{"a"},
		},
		{
			name: "panic",
			eval: func(context.Context, <-chan *pb.Match, func(string) error) error { panic("stream eval exploded") },
			msg:  "error(s) in FetchMatches call. syncErr=[omtest: evaluator panicked: stream eval exploded], mmfErr=[<nil>]",
		},
		{
			name: "unknown id",
			eval: func(_ context.Context, _ <-chan *pb.Match, accept func(string) error) error { return accept("ghost") },
			msg:  `error(s) in FetchMatches call. syncErr=[evaluator returned match_id "ghost" which does not correspond to its any match in its input], mmfErr=[<nil>]`,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			s, _ := newCore(t, omtest.WithStreamEvaluator(tc.eval), omtest.WithMatchFunction(propose(&pb.Match{MatchId: "a"}, &pb.Match{MatchId: "b"})))
			ms, err := fetch(ctx, s, "p")
			assertStatus(t, err, codes.Unknown, tc.msg)
			assert.Equal(t, tc.wantMatch, idsInOrder(ms), "streamed matches")
		})
	}
}

func idsInOrder(ms []*pb.Match) []string {
	var ids []string
	for _, m := range ms {
		ids = append(ids, m.GetMatchId())
	}
	return ids
}
