package omtest_test

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/internal/defaulteval"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// runFunc is the body of one Run call of a loopback gRPC match function.
type runFunc func(ctx context.Context, p *pb.MatchProfile, send func(*pb.Match) error) error

// grpcMMF is a real gRPC MatchFunction server on loopback dispatching on the
// profile name; started receives each profile name as its Run begins.
type grpcMMF struct {
	pb.UnimplementedMatchFunctionServer
	fns     map[string]runFunc
	started chan string
}

func (m *grpcMMF) Run(req *pb.RunRequest, stream grpc.ServerStreamingServer[pb.RunResponse]) error {
	p := req.GetProfile()
	m.started <- p.GetName()
	return m.fns[p.GetName()](stream.Context(), p, func(match *pb.Match) error {
		return stream.Send(&pb.RunResponse{Proposal: match})
	})
}

// startMMF serves fns and returns the FunctionConfig pointing at them.
func startMMF(t *testing.T, fns map[string]runFunc) (*pb.FunctionConfig, <-chan string) {
	t.Helper()
	m := &grpcMMF{fns: fns, started: make(chan string, 16)}
	host, port := serveGRPC(t, func(gs *grpc.Server) { pb.RegisterMatchFunctionServer(gs, m) })
	return &pb.FunctionConfig{Host: host, Port: int32(port)}, m.started
}

// evalStreamLog is what a loopback evaluator saw on one Evaluate stream.
type evalStreamLog struct {
	ids []string
}

// grpcEval is a real gRPC Evaluator on loopback. Each stream is handled by
// handle; opened receives a value when a stream opens, and every stream's
// proposals are logged.
type grpcEval struct {
	pb.UnimplementedEvaluatorServer
	handle func(ctx context.Context, recv func() (*pb.Match, error), send func(string) error) error
	opened chan struct{}
	mu     sync.Mutex
	logs   []*evalStreamLog
}

func (e *grpcEval) Evaluate(stream grpc.BidiStreamingServer[pb.EvaluateRequest, pb.EvaluateResponse]) error {
	log := &evalStreamLog{}
	e.mu.Lock()
	e.logs = append(e.logs, log)
	e.mu.Unlock()
	e.opened <- struct{}{}
	recv := func() (*pb.Match, error) {
		req, err := stream.Recv()
		if err == nil {
			e.mu.Lock()
			log.ids = append(log.ids, req.GetMatch().GetMatchId())
			e.mu.Unlock()
		}
		return req.GetMatch(), err
	}
	return e.handle(stream.Context(), recv, func(id string) error { return stream.Send(&pb.EvaluateResponse{MatchId: id}) })
}

// streams returns the proposal ids of every stream so far.
func (e *grpcEval) streams() [][]string {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := [][]string{}
	for _, l := range e.logs {
		out = append(out, append([]string{}, l.ids...))
	}
	return out
}

// startEval serves an evaluator and returns it with its "host:port".
func startEval(t *testing.T, handle func(ctx context.Context, recv func() (*pb.Match, error), send func(string) error) error) (*grpcEval, string) {
	t.Helper()
	e := &grpcEval{handle: handle, opened: make(chan struct{}, 16)}
	host, port := serveGRPC(t, func(gs *grpc.Server) { pb.RegisterEvaluatorServer(gs, e) })
	return e, net.JoinHostPort(host, strconv.Itoa(port))
}

// defaultEvalHandler is Open-Match's default evaluator behind a stream: read
// everything, then answer.
func defaultEvalHandler(_ context.Context, recv func() (*pb.Match, error), send func(string) error) error {
	var ms []*pb.Match
	for {
		m, err := recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		ms = append(ms, m)
	}
	for _, id := range defaulteval.Evaluate(ms) {
		if err := send(id); err != nil {
			return err
		}
	}
	return nil
}

// startFetch opens a FetchMatches stream and returns its messages and end on
// a channel.
func startFetch(ctx context.Context, s *omtest.Server, cfg *pb.FunctionConfig, profile string) <-chan fetchOut {
	out := make(chan fetchOut, 1)
	go func() {
		stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{Config: cfg, Profile: &pb.MatchProfile{Name: profile}})
		if err != nil {
			out <- fetchOut{err: err}
			return
		}
		resps, err := recvAll(stream)
		var ms []*pb.Match
		for _, r := range resps {
			ms = append(ms, r.GetMatch())
		}
		out <- fetchOut{matches: ms, err: err}
	}()
	return out
}

// waitFor receives one value from ch under ctx.
func waitFor[T any](ctx context.Context, t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-ctx.Done():
		require.FailNow(t, "timed out waiting for "+what)
	}
	var zero T
	return zero
}

// remoteCore starts a core on a fake clock with the evaluator at evalTarget
// and the windows given.
func remoteCore(t *testing.T, evalTarget string, opts ...omtest.Option) (*omtest.Server, *omtest.FakeClock) {
	t.Helper()
	clock := omtest.NewFakeClock(t0)
	d := &countingDialer{}
	all := append([]omtest.Option{omtest.WithClock(clock), omtest.WithEvaluatorTarget(evalTarget), omtest.WithDialer(d.dial)}, opts...)
	return omtest.NewServer(t, all...), clock
}

// serveGRPC starts a gRPC server on loopback, stopped at cleanup.
func serveGRPC(t *testing.T, register func(*grpc.Server)) (host string, port int) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer()
	register(gs)
	done := make(chan struct{})
	go func() { defer close(done); _ = gs.Serve(lis) }()
	t.Cleanup(func() { gs.Stop(); <-done })
	return "127.0.0.1", lis.Addr().(*net.TCPAddr).Port
}

// countingDialer wraps the default dialing and counts dials and closes.
type countingDialer struct {
	mu            sync.Mutex
	dials, closes int
	targets       []string
}

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func (d *countingDialer) dial(target string) (grpc.ClientConnInterface, io.Closer, error) {
	cc, err := grpc.NewClient(target, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, nil, err
	}
	d.mu.Lock()
	d.dials++
	d.targets = append(d.targets, target)
	d.mu.Unlock()
	return cc, closerFunc(func() error {
		d.mu.Lock()
		d.closes++
		d.mu.Unlock()
		return cc.Close()
	}), nil
}
