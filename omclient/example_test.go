package omclient_test

import (
	"context"
	"fmt"
	"log"
	"net"

	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// A match function served with the helper, a director fetching and assigning
// its matches, and a player's frontend watching for the assignment, all
// against the in-memory core.
func Example() {
	ctx := context.Background()
	core, err := omtest.Start(omtest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer core.Close()
	conn, err := omclient.NewConn(core.Addr(), omclient.WithStrategy(balancer.Static{Addrs: []string{core.Addr()}}))
	if err != nil {
		log.Fatal(err)
	}
	defer conn.Close()
	fe, be, q := omclient.NewFrontend(conn), omclient.NewBackend(conn), omclient.NewQuery(conn)

	// The match function pairs the tickets of its only pool.
	mmf := omclient.NewMatchFunctionServer(q, func(_ context.Context, p *pb.MatchProfile, pools map[string][]*pb.Ticket) ([]*pb.Match, error) {
		ts := pools["everyone"]
		score, _ := anypb.New(&pb.DefaultEvaluationCriteria{Score: 1})
		var ms []*pb.Match
		for i := 0; i+1 < len(ts); i += 2 {
			ms = append(ms, &pb.Match{
				MatchId: fmt.Sprintf("%s-%d", p.GetName(), i/2), MatchProfile: p.GetName(),
				Tickets: ts[i : i+2], Extensions: map[string]*anypb.Any{"evaluation_input": score},
			})
		}
		return ms, nil
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go mmf.Serve(lis)
	defer mmf.Shutdown(ctx)

	// Two players queue up.
	var ids []string
	for range 2 {
		t, err := fe.CreateTicket(ctx, &pb.Ticket{})
		if err != nil {
			log.Fatal(err)
		}
		ids = append(ids, t.GetId())
	}

	// The director fetches a match and assigns it.
	matches, err := be.FetchMatches(ctx,
		&pb.FunctionConfig{Host: "127.0.0.1", Port: int32(lis.Addr().(*net.TCPAddr).Port)},
		&pb.MatchProfile{Name: "duel", Pools: []*pb.Pool{{Name: "everyone"}}})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range matches {
		group := &pb.AssignmentGroup{Assignment: &pb.Assignment{Connection: "gs-1.example:7777"}}
		for _, t := range m.GetTickets() {
			group.TicketIds = append(group.TicketIds, t.GetId())
		}
		if _, err := be.AssignTickets(ctx, []*pb.AssignmentGroup{group}); err != nil {
			log.Fatal(err)
		}
		fmt.Println("match", m.GetMatchId(), "with", len(m.GetTickets()), "players")
	}

	// The first player's frontend sees the assignment.
	for a, err := range fe.WatchAssignments(ctx, ids[0]) {
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println("play at", a.GetConnection())
		break
	}
	// Output:
	// match duel-0 with 2 players
	// play at gs-1.example:7777
}
