package omtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// allTickets proposes one match holding every ticket of every pool.
func allTickets(_ context.Context, p *pb.MatchProfile, pools map[string][]*pb.Ticket) ([]*pb.Match, error) {
	m := &pb.Match{MatchId: "m-" + p.GetName(), MatchProfile: p.GetName()}
	for _, ts := range pools {
		m.Tickets = append(m.Tickets, ts...)
	}
	if len(m.Tickets) == 0 {
		return nil, nil
	}
	return []*pb.Match{m}, nil
}

// fetchPool runs FetchMatches for a profile with one pool of every ticket.
func fetchPool(ctx context.Context, s *omtest.Server, clock *omtest.FakeClock) ([]*pb.Match, error) {
	defer advanceWindow(ctx, clock)()
	stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{
		Config:  &pb.FunctionConfig{Host: "127.0.0.1", Port: 1},
		Profile: &pb.MatchProfile{Name: "p", Pools: []*pb.Pool{{Name: "all"}}},
	})
	if err != nil {
		return nil, err
	}
	resps, err := recvAll(stream)
	var ms []*pb.Match
	for _, r := range resps {
		ms = append(ms, r.GetMatch())
	}
	return ms, err
}

func TestTicketRecords(t *testing.T) {
	ctx := testCtx(t)
	s, clock := newCore(t, omtest.WithTicketRecords(), omtest.WithMatchFunction(allTickets),
		omtest.WithAssignedDeleteTimeout(time.Minute))
	var ids []string
	for range 4 {
		ids = append(ids, createTicket(ctx, t, s, nil).GetId())
	}
	fe, be := s.Frontend(), s.Backend()

	// ids[0] is deleted before any match; the other three are matched, then
	// released once, matched again, and assigned.
	_, err := fe.DeleteTicket(ctx, &pb.DeleteTicketRequest{TicketId: ids[0]})
	require.NoError(t, err)
	_, err = fe.DeleteTicket(ctx, &pb.DeleteTicketRequest{TicketId: ids[0]})
	require.NoError(t, err, "deleting a deleted ticket is OK, as in Open-Match")
	ms, err := fetchPool(ctx, s, clock)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	_, err = be.ReleaseTickets(ctx, &pb.ReleaseTicketsRequest{TicketIds: ids[1:]})
	require.NoError(t, err)
	_, err = be.ReleaseTickets(ctx, &pb.ReleaseTicketsRequest{TicketIds: ids[1:]})
	require.NoError(t, err, "a second release of tickets no match holds")
	ms, err = fetchPool(ctx, s, clock)
	require.NoError(t, err)
	require.Len(t, ms, 1)
	_, err = be.ReleaseAllTickets(ctx, &pb.ReleaseAllTicketsRequest{})
	require.NoError(t, err)
	_, err = be.AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{
		{TicketIds: ids[1:], Assignment: &pb.Assignment{Connection: "gs-1"}},
	}})
	require.NoError(t, err)
	_, err = be.AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{
		{TicketIds: ids[3:], Assignment: &pb.Assignment{Connection: "gs-2"}},
	}})
	require.NoError(t, err)
	_, err = fe.DeleteTicket(ctx, &pb.DeleteTicketRequest{TicketId: ids[2]})
	require.NoError(t, err)

	recs := s.TicketRecords()
	require.Len(t, recs, 4)
	byID := map[string]omtest.TicketRecord{}
	for i, r := range recs {
		assert.Equal(t, ids[i], r.ID, "records are oldest first")
		assert.Equal(t, t0, r.Created, "created on the core's clock")
		byID[r.ID] = r
	}
	assert.Equal(t, omtest.TicketRecord{ID: ids[0], Created: t0, Deleted: true}, byID[ids[0]])
	assert.Equal(t, omtest.TicketRecord{ID: ids[1], Created: t0, Assignments: 1, Connection: "gs-1", Releases: 2}, byID[ids[1]])
	assert.Equal(t, omtest.TicketRecord{ID: ids[2], Created: t0, Assignments: 1, Connection: "gs-1", Releases: 2, Deleted: true}, byID[ids[2]])
	assert.Equal(t, omtest.TicketRecord{ID: ids[3], Created: t0, Assignments: 2, Connection: "gs-2", Releases: 2}, byID[ids[3]])
	assert.True(t, byID[ids[1]].Stored())
	assert.False(t, byID[ids[2]].Stored())

	// The assigned tickets expire AssignedDeleteTimeout later; reading them
	// drops them, as Open-Match's Redis key expiry would.
	clock.Advance(2 * time.Minute)
	_, err = fe.GetTicket(ctx, &pb.GetTicketRequest{TicketId: ids[1]})
	require.Error(t, err)
	var expired []string
	for _, r := range s.TicketRecords() {
		if r.Expired {
			expired = append(expired, r.ID)
		}
	}
	assert.Contains(t, expired, ids[1])
	assert.NotContains(t, expired, ids[2], "a deleted ticket does not expire")

	s.Reset()
	assert.Empty(t, s.TicketRecords(), "Reset forgets the records")
}

func TestTicketRecordsOff(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t)
	createTicket(ctx, t, s, nil)
	assert.Nil(t, s.TicketRecords())
}
