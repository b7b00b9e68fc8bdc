package omtest_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"time"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// pairUp is a match function, the same one a match function server ships
// (omclient.NewMatchFunctionServer): it pairs the tickets of its pools.
func pairUp(_ context.Context, p *pb.MatchProfile, pools map[string][]*pb.Ticket) ([]*pb.Match, error) {
	var tickets []*pb.Ticket
	for _, pool := range p.GetPools() {
		tickets = append(tickets, pools[pool.GetName()]...)
	}
	var matches []*pb.Match
	for i := 0; i+1 < len(tickets); i += 2 {
		matches = append(matches, &pb.Match{
			MatchId:       fmt.Sprintf("%s-%d", p.GetName(), i/2),
			MatchProfile:  p.GetName(),
			MatchFunction: "pair-up",
			Tickets:       tickets[i : i+2],
		})
	}
	return matches, nil
}

// fetchAll runs FetchMatches for profile and returns the matches.
func fetchAll(ctx context.Context, be pb.BackendServiceClient, profile *pb.MatchProfile) ([]*pb.Match, error) {
	stream, err := be.FetchMatches(ctx, &pb.FetchMatchesRequest{
		Config:  &pb.FunctionConfig{Host: "127.0.0.1", Port: 50502}, // not dialed: the MMF runs in process
		Profile: profile,
	})
	if err != nil {
		return nil, err
	}
	var matches []*pb.Match
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return matches, nil
		}
		if err != nil {
			return matches, err
		}
		matches = append(matches, resp.GetMatch())
	}
}

// Testing a match function: run it in process against the core, feed it
// tickets through the frontend and look at what FetchMatches returns. In a
// test, use omtest.NewServer(t, ...) instead of Start and Close.
func Example_matchFunction() {
	ctx := context.Background()
	s, err := omtest.Start(omtest.Config{
		MatchFunction: pairUp,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	for _, mode := range []string{"ranked", "casual", "ranked", "ranked", "ranked"} {
		_, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{
			SearchFields: &pb.SearchFields{StringArgs: map[string]string{"mode": mode}},
		}})
		if err != nil {
			log.Fatal(err)
		}
	}
	matches, err := fetchAll(ctx, s.Backend(), &pb.MatchProfile{
		Name:  "ranked",
		Pools: []*pb.Pool{{StringEqualsFilters: []*pb.StringEqualsFilter{{StringArg: "mode", Value: "ranked"}}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("matches:", len(matches))
	for _, m := range matches {
		fmt.Println("tickets in match:", len(m.GetTickets()))
	}
	// Output:
	// matches: 2
	// tickets in match: 2
	// tickets in match: 2
}

// A director loop: fetch matches, assign each one a game server, and see
// the tickets leave the pool.
func Example_director() {
	ctx := context.Background()
	s, err := omtest.Start(omtest.Config{
		MatchFunction: pairUp,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for range 4 {
		if _, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}}); err != nil {
			log.Fatal(err)
		}
	}

	profile := &pb.MatchProfile{Name: "all", Pools: []*pb.Pool{{Name: "everyone"}}}
	for round := 1; round <= 2; round++ {
		matches, err := fetchAll(ctx, s.Backend(), profile)
		if err != nil {
			log.Fatal(err)
		}
		var groups []*pb.AssignmentGroup
		for i, m := range matches {
			var ids []string
			for _, t := range m.GetTickets() {
				ids = append(ids, t.GetId())
			}
			groups = append(groups, &pb.AssignmentGroup{
				TicketIds:  ids,
				Assignment: &pb.Assignment{Connection: fmt.Sprintf("10.0.0.%d:7777", i+1)},
			})
		}
		if len(groups) > 0 {
			if _, err := s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: groups}); err != nil {
				log.Fatal(err)
			}
		}
		fmt.Printf("round %d: %d matches assigned\n", round, len(groups))
	}
	// Output:
	// round 1: 2 matches assigned
	// round 2: 0 matches assigned
}

// A frontend: create a ticket and watch for its assignment, which a director
// writes through the backend.
func Example_frontendWatch() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := omtest.Start(omtest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	ticket, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	if err != nil {
		log.Fatal(err)
	}
	watch, err := s.Frontend().WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: ticket.GetId()})
	if err != nil {
		log.Fatal(err)
	}
	_, err = s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{{
		TicketIds:  []string{ticket.GetId()},
		Assignment: &pb.Assignment{Connection: "10.0.0.9:7777"},
	}}})
	if err != nil {
		log.Fatal(err)
	}
	resp, err := watch.Recv()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("assigned to", resp.GetAssignment().GetConnection())
	// Output: assigned to 10.0.0.9:7777
}

// Timeouts follow a FakeClock: the registration window lasts until the clock
// passes it, and advancing the clock past the pending-release timeout puts
// the tickets of an unassigned match back in the pool at once.
func ExampleFakeClock() {
	ctx := context.Background()
	clock := omtest.NewFakeClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	s, err := omtest.Start(omtest.Config{Clock: clock, MatchFunction: pairUp})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	for range 2 {
		if _, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}}); err != nil {
			log.Fatal(err)
		}
	}
	profile := &pb.MatchProfile{Name: "p", Pools: []*pb.Pool{{}}}
	fetch := func() int {
		got := make(chan []*pb.Match)
		go func() { ms, _ := fetchAll(ctx, s.Backend(), profile); got <- ms }()
		// The cycle has started once its registration window is a timer.
		if err := clock.WaitForTimers(ctx, 1); err != nil {
			log.Fatal(err)
		}
		clock.Advance(omtest.DefaultRegistrationInterval)
		return len(<-got)
	}
	first, again := fetch(), fetch()
	clock.Advance(omtest.DefaultPendingReleaseTimeout + time.Second)
	fmt.Println(first, again, fetch())
	// Output: 1 0 1
}
