package omtest_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// byProfile dispatches an in-process MMF on the profile name.
func byProfile(fns map[string]omclient.MatchFunc) omclient.MatchFunc {
	return func(ctx context.Context, p *pb.MatchProfile, pools map[string][]*pb.Ticket) ([]*pb.Match, error) {
		return fns[p.GetName()](ctx, p, pools)
	}
}

func propose(ms ...*pb.Match) omclient.MatchFunc {
	return func(context.Context, *pb.MatchProfile, map[string][]*pb.Ticket) ([]*pb.Match, error) { return ms, nil }
}

// barrier returns an MMF wrapper that holds every call until n calls have
// started, and a channel closed then. n calls can only start together when
// they share one synchronizer cycle, whose window the test closes after.
func barrier(n int) (hold func(omclient.MatchFunc) omclient.MatchFunc, all <-chan struct{}) {
	var mu sync.Mutex
	started := 0
	ch := make(chan struct{})
	return func(fn omclient.MatchFunc) omclient.MatchFunc {
		return func(ctx context.Context, p *pb.MatchProfile, pools map[string][]*pb.Ticket) ([]*pb.Match, error) {
			mu.Lock()
			if started++; started == n {
				close(ch)
			}
			mu.Unlock()
			select {
			case <-ch:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
			return fn(ctx, p, pools)
		}
	}, ch
}

type fetchOut struct {
	matches []*pb.Match
	err     error
}

// fetchConcurrently runs one FetchMatches per profile at the same time and
// closes their cycle's registration window once all is closed.
func fetchConcurrently(ctx context.Context, s *omtest.Server, clock *omtest.FakeClock, all <-chan struct{}, profiles ...string) map[string]fetchOut {
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := make(map[string]fetchOut)
	for _, p := range profiles {
		wg.Go(func() {
			ms, err := fetchNow(ctx, s, p)
			mu.Lock()
			defer mu.Unlock()
			out[p] = fetchOut{matches: ms, err: err}
		})
	}
	select {
	case <-all:
		clock.Advance(windowStep)
	case <-ctx.Done():
	}
	wg.Wait()
	return out
}

func TestFetchMatchesWindowEvaluatesConcurrentCallsTogether(t *testing.T) {
	ctx := testCtx(t)
	var s *omtest.Server
	var evalMu sync.Mutex
	var evaluations [][]string
	recordingDefault := func(ctx context.Context, ms []*pb.Match) ([]string, error) {
		evalMu.Lock()
		evaluations = append(evaluations, matchIDs(ms))
		evalMu.Unlock()
		return defaultEvaluate(ms), nil
	}
	hold, all := barrier(2)
	s, clock := newCore(t,
		omtest.WithEvaluator(recordingDefault),
		omtest.WithMatchFunction(byProfile(map[string]omclient.MatchFunc{
			"low": hold(func(ctx context.Context, _ *pb.MatchProfile, _ map[string][]*pb.Ticket) ([]*pb.Match, error) {
				return mmfOver(ctx, t, s, "low", 1, 0, 2)
			}),
			"high": hold(func(ctx context.Context, _ *pb.MatchProfile, _ map[string][]*pb.Ticket) ([]*pb.Match, error) {
				return mmfOver(ctx, t, s, "high", 2, 1, 3)
			}),
		})))
	for range 3 {
		createTicket(ctx, t, s, nil)
	}

	out := fetchConcurrently(ctx, s, clock, all, "low", "high")
	require.NoError(t, out["low"].err)
	require.NoError(t, out["high"].err)
	assert.Empty(t, out["low"].matches, "the lower score must lose the shared ticket")
	assert.Equal(t, []string{"high"}, matchIDs(out["high"].matches))
	assert.Equal(t, [][]string{{"high", "low"}}, evaluations, "both calls must share one evaluation")
	assert.Len(t, queryIDs(ctx, t, s, &pb.Pool{}), 1, "only the winner's tickets are pending")
}

// mmfOver proposes one match named id over the active tickets [from, to) in
// id order, with the given score.
func mmfOver(ctx context.Context, t *testing.T, s *omtest.Server, id string, score float64, from, to int) ([]*pb.Match, error) {
	ids, err := queryIDsErr(ctx, s, &pb.Pool{})
	if err != nil {
		return nil, err
	}
	var tickets []*pb.Ticket
	for _, tid := range ids[from:to] {
		tickets = append(tickets, &pb.Ticket{Id: tid})
	}
	return []*pb.Match{scored(t, id, score, tickets...)}, nil
}

func TestFetchMatchesErrors(t *testing.T) {
	boom := errors.New("boom")
	tkA := &pb.Ticket{Id: "a"}
	tests := []struct {
		name      string
		mmf       omclient.MatchFunc
		eval      omclient.EvaluateFunc
		config    *pb.FunctionConfig
		msg       string // exact message, when set
		contains  string // substring of the message
		wantMatch []string
	}{
		{
			name: "mmf error before any proposal",
			mmf: func(context.Context, *pb.MatchProfile, map[string][]*pb.Ticket) ([]*pb.Match, error) {
				return nil, boom
			},
			msg: "error(s) in FetchMatches call. syncErr=[<nil>], mmfErr=[boom]",
		},
		{
			name: "proposals before an mmf error are still evaluated and streamed",
			mmf: func(context.Context, *pb.MatchProfile, map[string][]*pb.Ticket) ([]*pb.Match, error) {
				return []*pb.Match{{MatchId: "early"}}, boom
			},
			msg:       "error(s) in FetchMatches call. syncErr=[<nil>], mmfErr=[boom]",
			wantMatch: []string{"early"},
		},
		{
			name: "mmf panic",
			mmf: func(context.Context, *pb.MatchProfile, map[string][]*pb.Ticket) ([]*pb.Match, error) {
				panic("mmf exploded")
			},
			contains: "mmfErr=[omtest: match function panicked: mmf exploded]",
		},
		{
			name:      "same match id twice in one call",
			mmf:       propose(&pb.Match{MatchId: "m", Tickets: []*pb.Ticket{tkA}}, &pb.Match{MatchId: "m"}),
			msg:       `error(s) in FetchMatches call. syncErr=[MatchMakingFunction returned same match_id twice: "m"], mmfErr=[<nil>]`,
			wantMatch: []string{"m"},
		},
		{
			name: "evaluator error",
			mmf:  propose(&pb.Match{MatchId: "m"}),
			eval: func(context.Context, []*pb.Match) ([]string, error) { return nil, boom },
			msg:  "error(s) in FetchMatches call. syncErr=[boom], mmfErr=[<nil>]",
		},
		{
			name:     "evaluator panic",
			mmf:      propose(&pb.Match{MatchId: "m"}),
			eval:     func(context.Context, []*pb.Match) ([]string, error) { panic("eval exploded") },
			contains: "syncErr=[omtest: evaluator panicked: eval exploded]",
		},
		{
			name: "evaluator returns an unknown id",
			mmf:  propose(&pb.Match{MatchId: "m"}),
			eval: func(context.Context, []*pb.Match) ([]string, error) { return []string{"nope"}, nil },
			msg:  `error(s) in FetchMatches call. syncErr=[evaluator returned match_id "nope" which does not correspond to its any match in its input], mmfErr=[<nil>]`,
		},
		{
			name: "evaluator returns an id twice",
			mmf:  propose(&pb.Match{MatchId: "m"}),
			eval: func(context.Context, []*pb.Match) ([]string, error) { return []string{"m", "m"}, nil },
			msg:  `error(s) in FetchMatches call. syncErr=[evaluator returned same match_id twice: "m"], mmfErr=[<nil>]`,
			// Each accepted id streams at once: the first "m" went out
			// before the second one failed the cycle.
			wantMatch: []string{"m"},
		},
		{
			name:     "unknown function type",
			config:   &pb.FunctionConfig{Host: "127.0.0.1", Port: 1, Type: pb.FunctionConfig_Type(9)},
			contains: "mmfErr=[provided match function type 9 is not supported]",
		},
		{
			name:     "unreachable remote mmf",
			config:   &pb.FunctionConfig{Host: "127.0.0.1", Port: int32(closedPort(t))},
			contains: "mmfErr=[failed to run match function for profile: rpc error: code = Unavailable",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			opts := []omtest.Option{}
			if tc.mmf != nil {
				opts = append(opts, omtest.WithMatchFunction(tc.mmf))
			}
			if tc.eval != nil {
				opts = append(opts, omtest.WithEvaluator(tc.eval))
			}
			s, clock := newCore(t, opts...)
			tk := createTicket(ctx, t, s, nil)
			cfg := tc.config
			if cfg == nil {
				cfg = &pb.FunctionConfig{Host: "127.0.0.1", Port: 1}
			}
			stop := advanceWindow(ctx, clock)
			stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{Config: cfg, Profile: &pb.MatchProfile{Name: "p"}})
			require.NoError(t, err)
			resps, err := recvAll(stream)
			stop()
			assertStatus(t, err, codes.Unknown, tc.msg)
			assert.Contains(t, err.Error(), tc.contains)
			var got []string
			for _, r := range resps {
				got = append(got, r.GetMatch().GetMatchId())
			}
			assert.Equal(t, tc.wantMatch, got, "streamed matches = %v, want %v", got, tc.wantMatch)
			if len(tc.wantMatch) == 0 {
				assert.Equal(t, []string{tk.GetId()}, queryIDs(ctx, t, s, &pb.Pool{}), "a failed call changes no state")
			}
		})
	}
}

// closedPort returns a loopback port with nothing listening on it.
func closedPort(t *testing.T) int {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := lis.Addr().(*net.TCPAddr).Port
	require.NoError(t, lis.Close())
	return port
}

func TestFetchMatchesSameIDAcrossCalls(t *testing.T) {
	ctx := testCtx(t)
	hold, all := barrier(2)
	s, clock := newCore(t,
		omtest.WithMatchFunction(byProfile(map[string]omclient.MatchFunc{
			"a": hold(propose(&pb.Match{MatchId: "same"})),
			"b": hold(propose(&pb.Match{MatchId: "same"})),
		})))
	out := fetchConcurrently(ctx, s, clock, all, "a", "b")
	for _, p := range []string{"a", "b"} {
		assertStatus(t, out[p].err, codes.Unknown, `error(s) in FetchMatches call. syncErr=[multiple match functions used same match_id: "same"], mmfErr=[<nil>]`)
		assert.Empty(t, out[p].matches)
	}
}

func TestFetchMatchesProposalWindowOverrun(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t,
		omtest.WithProposalCollectionInterval(100*time.Millisecond),
		omtest.WithMatchFunction(func(ctx context.Context, _ *pb.MatchProfile, _ map[string][]*pb.Ticket) ([]*pb.Match, error) {
			<-ctx.Done()
			return nil, ctx.Err()
		}))
	_, err := fetch(ctx, s, "slow")
	assertStatus(t, err, codes.Unknown, "error(s) in FetchMatches call. syncErr=[match function ran longer than proposal window, canceling], mmfErr=[context canceled]")
}

func TestFetchMatchesZeroTicketMatchPassesThrough(t *testing.T) {
	ctx := testCtx(t)
	ext, err := anypb.New(wrapperspb.String("kept"))
	require.NoError(t, err)
	in := &pb.Match{MatchId: "empty", MatchProfile: "prof", MatchFunction: "fn", AllocateGameserver: true,
		Extensions: map[string]*anypb.Any{"x": ext}}
	s, _ := newCore(t, omtest.WithMatchFunction(propose(in, &pb.Match{MatchId: "empty2"})))
	ms, err := fetch(ctx, s, "p")
	require.NoError(t, err)
	require.Equal(t, []string{"empty", "empty2"}, matchIDs(ms))
	got := ms[0]
	if got.GetMatchId() != "empty" {
		got = ms[1]
	}
	assert.Equal(t, "prof", got.GetMatchProfile())
	assert.Equal(t, "fn", got.GetMatchFunction())
	assert.True(t, got.GetAllocateGameserver())
	assert.Contains(t, got.GetExtensions(), "x")
}

func TestFetchMatchesCoreLeavesProfileFieldsAlone(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t, omtest.WithMatchFunction(propose(&pb.Match{MatchId: "m"})))
	ms, err := fetch(ctx, s, "profile-name")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Empty(t, ms[0].GetMatchProfile(), "core never fills match_profile")
	assert.Empty(t, ms[0].GetMatchFunction(), "core never fills match_function")
}

// mmfServer is a gRPC MatchFunction proposing one match per profile.
type mmfServer struct {
	pb.UnimplementedMatchFunctionServer
}

func (mmfServer) Run(req *pb.RunRequest, stream grpc.ServerStreamingServer[pb.RunResponse]) error {
	return stream.Send(&pb.RunResponse{Proposal: &pb.Match{MatchId: "remote-" + req.GetProfile().GetName()}})
}

// evaluatorServer is a gRPC Evaluator accepting every proposal but "reject".
type evaluatorServer struct {
	pb.UnimplementedEvaluatorServer
}

func (evaluatorServer) Evaluate(stream grpc.BidiStreamingServer[pb.EvaluateRequest, pb.EvaluateResponse]) error {
	var ids []string
	for {
		req, err := stream.Recv()
		if err != nil {
			break
		}
		if id := req.GetMatch().GetMatchId(); id != "remote-reject" {
			ids = append(ids, id)
		}
	}
	for _, id := range ids {
		if err := stream.Send(&pb.EvaluateResponse{MatchId: id}); err != nil {
			return err
		}
	}
	return nil
}

func TestFetchMatchesRemoteMatchFunctionAndEvaluator(t *testing.T) {
	ctx := testCtx(t)
	mmfHost, mmfPort := serveGRPC(t, func(gs *grpc.Server) { pb.RegisterMatchFunctionServer(gs, mmfServer{}) })
	evHost, evPort := serveGRPC(t, func(gs *grpc.Server) { pb.RegisterEvaluatorServer(gs, evaluatorServer{}) })
	evTarget := net.JoinHostPort(evHost, strconv.Itoa(evPort))
	d := &countingDialer{}
	s := omtest.NewServer(t, omtest.WithDialer(d.dial), omtest.WithEvaluatorTarget(evTarget))

	for _, profile := range []string{"one", "reject", "two"} {
		stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{
			Config:  &pb.FunctionConfig{Host: mmfHost, Port: int32(mmfPort), Type: pb.FunctionConfig_GRPC},
			Profile: &pb.MatchProfile{Name: profile},
		})
		require.NoError(t, err)
		resps, err := recvAll(stream)
		require.NoError(t, err)
		if profile == "reject" {
			assert.Empty(t, resps, "the remote evaluator rejected it")
			continue
		}
		require.Len(t, resps, 1)
		assert.Equal(t, "remote-"+profile, resps[0].GetMatch().GetMatchId())
	}
	d.mu.Lock()
	assert.Equal(t, 2, d.dials, "one cached connection per target")
	assert.ElementsMatch(t, []string{net.JoinHostPort(mmfHost, strconv.Itoa(mmfPort)), evTarget}, d.targets)
	d.mu.Unlock()

	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close is idempotent")
	d.mu.Lock()
	assert.Equal(t, 2, d.closes, "Close closes dialed connections")
	d.mu.Unlock()
}

func TestFetchMatchesInProcessMatchFunctionServer(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t, omtest.WithMatchFunctionServer(mmfServer{}))
	ms, err := fetch(ctx, s, "inproc")
	require.NoError(t, err)
	assert.Equal(t, []string{"remote-inproc"}, matchIDs(ms))
}

func TestFetchMatchesCycleSeesPreviousPending(t *testing.T) {
	ctx := testCtx(t)
	var s *omtest.Server
	s, _ = newCore(t, omtest.WithMatchFunction(matchAll(t, &s)))
	for range 4 {
		createTicket(ctx, t, s, nil)
	}
	first, err := fetch(ctx, s, "first")
	require.NoError(t, err)
	assert.Len(t, first, 4)
	second, err := fetch(ctx, s, "second")
	require.NoError(t, err)
	assert.Empty(t, second, "pending tickets are not offered again")
}
