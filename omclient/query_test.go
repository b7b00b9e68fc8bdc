package omclient_test

import (
	"fmt"
	"sort"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// flakyQuery serves pages of tickets per pool name. The first stream of a pool
// listed in breakOnce sends one page and then fails with Unavailable.
type flakyQuery struct {
	pb.UnimplementedQueryServiceServer
	pages map[string][][]*pb.Ticket

	mu        sync.Mutex
	breakOnce map[string]bool
	calls     map[string]int
}

func (q *flakyQuery) QueryTickets(req *pb.QueryTicketsRequest, stream pb.QueryService_QueryTicketsServer) error {
	name := req.GetPool().GetName()
	q.mu.Lock()
	q.calls[name]++
	broken := q.breakOnce[name]
	q.breakOnce[name] = false
	q.mu.Unlock()
	for i, page := range q.pages[name] {
		if broken && i == 1 {
			return status.Error(codes.Unavailable, "connection reset")
		}
		if err := stream.Send(&pb.QueryTicketsResponse{Tickets: page}); err != nil {
			return err
		}
	}
	return nil
}

func tickets(prefix string, n int) []*pb.Ticket {
	ts := make([]*pb.Ticket, n)
	for i := range ts {
		ts[i] = &pb.Ticket{Id: fmt.Sprintf("%s-%d", prefix, i)}
	}
	return ts
}

func ids(ts []*pb.Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.GetId()
	}
	sort.Strings(out)
	return out
}

func TestQueryPoolsRestartsBrokenPool(t *testing.T) {
	ctx := testContext(t)
	q := &flakyQuery{
		pages: map[string][][]*pb.Ticket{
			"eu": {tickets("eu-a", 3), tickets("eu-b", 2)},
			"us": {tickets("us-a", 4)},
		},
		breakOnce: map[string]bool{"eu": true},
		calls:     map[string]int{},
	}
	srv := startServer(t, func(gs *grpc.Server) { pb.RegisterQueryServiceServer(gs, q) })
	qc := omclient.NewQuery(dial(t, srv.addr))

	got, err := qc.QueryPools(ctx, []*pb.Pool{{Name: "eu"}, {Name: "us"}, {Name: "empty"}})
	if err != nil {
		t.Fatalf("QueryPools() = %v", err)
	}
	want := map[string][]string{
		"eu":    ids(append(tickets("eu-a", 3), tickets("eu-b", 2)...)),
		"us":    ids(tickets("us-a", 4)),
		"empty": {},
	}
	for name, w := range want {
		if g := ids(got[name]); fmt.Sprint(g) != fmt.Sprint(w) {
			t.Errorf("pool %s = %v, want %v", name, g, w)
		}
	}
	if len(got) != len(want) {
		t.Errorf("QueryPools returned %d pools, want %d", len(got), len(want))
	}
	q.mu.Lock()
	n := q.calls["eu"]
	q.mu.Unlock()
	if n != 2 {
		t.Errorf("pool eu was queried %d times, want 2 (broken, then complete)", n)
	}
}

func TestQueryPoolsFailsWhole(t *testing.T) {
	ctx := testContext(t)
	q := &flakyQuery{pages: map[string][][]*pb.Ticket{}, breakOnce: map[string]bool{}, calls: map[string]int{}}
	srv := startServer(t, func(gs *grpc.Server) { pb.RegisterQueryServiceServer(gs, q) })
	qc := omclient.NewQuery(dial(t, srv.addr))
	got, err := qc.QueryPools(ctx, []*pb.Pool{{Name: "a"}, nil})
	if status.Code(err) != codes.InvalidArgument || got != nil {
		t.Fatalf("QueryPools(nil pool) = %v, %v, want nil, InvalidArgument", got, err)
	}
}
