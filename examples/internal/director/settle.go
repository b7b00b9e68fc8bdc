package director

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// TeamExtension is the assignment extension (a google.protobuf.StringValue)
// telling a player which team it plays in.
const TeamExtension = "team"

// settle allocates a game server for each match, assigns the tickets of the
// matches that got one and releases the others.
func (d *Director) settle(ctx context.Context, matches []*pb.Match) (Stats, error) {
	st := Stats{Matches: len(matches)}
	groups, release := d.allocate(ctx, matches, &st)
	if err := d.release(ctx, release, &st); err != nil {
		return st, err
	}
	if len(groups) == 0 {
		return st, nil
	}
	start := time.Now()
	failures, err := d.Backend.AssignTickets(ctx, groups)
	d.observe("AssignTickets", start, err)
	if err != nil {
		return st, fmt.Errorf("assign %d matches: %w", len(matches)-st.AllocFailures, err)
	}
	if d.OnAssigned != nil {
		d.OnAssigned(groups, failures)
	}
	for _, g := range groups {
		st.Assigned += len(g.GetTicketIds())
	}
	st.Assigned -= len(failures)
	st.MissingTickets = len(failures)
	return st, nil
}

// allocate asks the allocator for a game server per match. It returns the
// assignment groups of the matches that got one and the ticket ids of those
// that did not, counting the failures in st.
func (d *Director) allocate(ctx context.Context, matches []*pb.Match, st *Stats) ([]*pb.AssignmentGroup, []string) {
	var groups []*pb.AssignmentGroup
	var release []string
	for _, m := range matches {
		if d.Counters != nil {
			d.Counters.Matched.Add(int64(len(m.GetTickets())))
		}
		conn, err := d.Allocator.Allocate(ctx, m)
		if err != nil {
			st.AllocFailures++
			release = append(release, ticketIDs(m)...)
			continue
		}
		groups = append(groups, assignmentGroups(m, conn)...)
	}
	return groups, release
}

// release returns the tickets of unallocated matches to the pool.
func (d *Director) release(ctx context.Context, ids []string, st *Stats) error {
	if len(ids) == 0 {
		return nil
	}
	start := time.Now()
	err := d.Backend.ReleaseTickets(ctx, ids)
	d.observe("ReleaseTickets", start, err)
	if err != nil {
		return fmt.Errorf("release %d tickets: %w", len(ids), err)
	}
	st.Released = len(ids)
	if d.Counters != nil {
		d.Counters.Released.Add(int64(len(ids)))
	}
	return nil
}

// assignmentGroups gives every team of m the game server conn and its team
// name. A match without teams is assigned as one group.
func assignmentGroups(m *pb.Match, conn string) []*pb.AssignmentGroup {
	teams, err := game.Teams(m)
	if err != nil {
		return []*pb.AssignmentGroup{{TicketIds: ticketIDs(m), Assignment: &pb.Assignment{Connection: conn}}}
	}
	var out []*pb.AssignmentGroup
	for _, name := range slices.Sorted(maps.Keys(teams)) {
		if len(teams[name]) == 0 {
			continue
		}
		team, _ := anypb.New(wrapperspb.String(name))
		out = append(out, &pb.AssignmentGroup{
			TicketIds:  teams[name],
			Assignment: &pb.Assignment{Connection: conn, Extensions: map[string]*anypb.Any{TeamExtension: team}},
		})
	}
	return out
}

func ticketIDs(m *pb.Match) []string {
	ids := make([]string, len(m.GetTickets()))
	for i, t := range m.GetTickets() {
		ids[i] = t.GetId()
	}
	return ids
}
