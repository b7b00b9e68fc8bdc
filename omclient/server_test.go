package omclient_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// serve runs s on a loopback listener until the test ends and returns its
// address.
func serve(t *testing.T, s *omclient.Server) (host string, port int) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Serve(lis) }()
	t.Cleanup(func() {
		if err := s.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown() = %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("Serve() = %v", err)
		}
	})
	a := lis.Addr().(*net.TCPAddr)
	return a.IP.String(), a.Port
}

func scored(id string, score float64, ts ...*pb.Ticket) *pb.Match {
	in, _ := anypb.New(&pb.DefaultEvaluationCriteria{Score: score})
	return &pb.Match{MatchId: id, Tickets: ts, Extensions: map[string]*anypb.Any{"evaluation_input": in}}
}

// pairUp is a match function that pairs the tickets of pool "all" in order.
func pairUp(_ context.Context, p *pb.MatchProfile, pools map[string][]*pb.Ticket) ([]*pb.Match, error) {
	ts := pools["all"]
	var ms []*pb.Match
	for i := 0; i+1 < len(ts); i += 2 {
		ms = append(ms, scored(fmt.Sprintf("%s-%d", p.GetName(), i/2), 1, ts[i], ts[i+1]))
	}
	return ms, nil
}

// TestHelpersServeARealBackendCall runs the MMF and evaluator helpers as real
// gRPC servers and has the in-memory core call both during FetchMatches.
func TestHelpersServeARealBackendCall(t *testing.T) {
	ctx := testContext(t)
	var evaluated atomic.Int64
	eval := omclient.NewEvaluatorServer(func(ctx context.Context, ms []*pb.Match) ([]string, error) {
		evaluated.Add(int64(len(ms)))
		return omclient.DefaultEvaluate(ms), nil
	})
	evalHost, evalPort := serve(t, eval)
	core := omtest.NewServer(t, omtest.WithEvaluatorTarget(net.JoinHostPort(evalHost, strconv.Itoa(evalPort))))

	conn := dial(t, core.Addr())
	fe, be, q := omclient.NewFrontend(conn), omclient.NewBackend(conn), omclient.NewQuery(conn)
	for range 6 {
		if _, err := fe.CreateTicket(ctx, &pb.Ticket{}); err != nil {
			t.Fatal(err)
		}
	}
	mmfHost, mmfPort := serve(t, omclient.NewMatchFunctionServer(q, pairUp))

	matches, err := be.FetchMatches(ctx,
		&pb.FunctionConfig{Host: mmfHost, Port: int32(mmfPort), Type: pb.FunctionConfig_GRPC},
		&pb.MatchProfile{Name: "duel", Pools: []*pb.Pool{{Name: "all"}}})
	if err != nil {
		t.Fatalf("FetchMatches() = %v", err)
	}
	if len(matches) != 3 {
		t.Fatalf("FetchMatches() returned %d matches, want 3", len(matches))
	}
	if got := evaluated.Load(); got != 3 {
		t.Errorf("evaluator saw %d proposals, want 3", got)
	}
	left, err := q.QueryTickets(ctx, &pb.Pool{})
	if err != nil || len(left) != 0 {
		t.Errorf("QueryTickets after matching = %d tickets, %v; want 0 (all pending)", len(left), err)
	}
}

func TestMatchFunctionServerErrors(t *testing.T) {
	ctx := testContext(t)
	core := omtest.NewServer(t)
	q := omclient.NewQuery(dial(t, core.Addr()))
	tests := []struct {
		name string
		fn   omclient.MatchFunc
		req  *pb.RunRequest
		want codes.Code
	}{
		{name: "nil profile", fn: pairUp, req: &pb.RunRequest{}, want: codes.InvalidArgument},
		{name: "panic", fn: func(context.Context, *pb.MatchProfile, map[string][]*pb.Ticket) ([]*pb.Match, error) {
			panic("bad index")
		}, req: &pb.RunRequest{Profile: &pb.MatchProfile{Name: "p"}}, want: codes.Internal},
		{name: "error", fn: func(context.Context, *pb.MatchProfile, map[string][]*pb.Ticket) ([]*pb.Match, error) {
			return nil, fmt.Errorf("no game servers")
		}, req: &pb.RunRequest{Profile: &pb.MatchProfile{Name: "p"}}, want: codes.Unknown},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			host, port := serve(t, omclient.NewMatchFunctionServer(q, tc.fn))
			cc := rawConn(t, net.JoinHostPort(host, strconv.Itoa(port)))
			stream, err := pb.NewMatchFunctionClient(cc).Run(ctx, tc.req)
			if err == nil {
				_, err = stream.Recv()
			}
			if status.Code(err) != tc.want {
				t.Errorf("Run() = %v, want code %v", err, tc.want)
			}
		})
	}
}

func TestEvaluatorServer(t *testing.T) {
	ctx := testContext(t)
	host, port := serve(t, omclient.NewEvaluatorServer(nil))
	cc := rawConn(t, net.JoinHostPort(host, strconv.Itoa(port)))

	a, b, c := &pb.Ticket{Id: "a"}, &pb.Ticket{Id: "b"}, &pb.Ticket{Id: "c"}
	stream, err := pb.NewEvaluatorClient(cc).Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []*pb.Match{scored("low", 1, a, b), scored("high", 5, b, c), {MatchId: "unscored", Tickets: []*pb.Ticket{a}}} {
		if err := stream.Send(&pb.EvaluateRequest{Match: m}); err != nil {
			t.Fatal(err)
		}
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for {
		resp, err := stream.Recv()
		if err != nil {
			break
		}
		ids = append(ids, resp.GetMatchId())
	}
	if fmt.Sprint(ids) != "[high unscored]" {
		t.Errorf("accepted %v, want [high unscored]", ids)
	}

	health, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{})
	if err != nil || health.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("health Check() = %v, %v, want SERVING", health, err)
	}
}

func TestEvaluatorServerPanic(t *testing.T) {
	ctx := testContext(t)
	host, port := serve(t, omclient.NewEvaluatorServer(func(context.Context, []*pb.Match) ([]string, error) {
		panic("evaluator bug")
	}))
	stream, err := pb.NewEvaluatorClient(rawConn(t, net.JoinHostPort(host, strconv.Itoa(port)))).Evaluate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.CloseSend(); err != nil {
		t.Fatal(err)
	}
	if _, err := stream.Recv(); status.Code(err) != codes.Internal {
		t.Errorf("Evaluate() with a panicking evaluator = %v, want code Internal", err)
	}
}

func rawConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}
