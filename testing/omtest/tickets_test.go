package omtest_test

import (
	"context"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

var idPattern = regexp.MustCompile(`^[0-9a-v]{20}$`)

func TestCreateTicketMintsIDAndTime(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t)
	ext, err := anypb.New(wrapperspb.String("x"))
	require.NoError(t, err)
	in := &pb.Ticket{
		Id:              "client-chosen",
		SearchFields:    &pb.SearchFields{Tags: []string{"a"}},
		Extensions:      map[string]*anypb.Any{"k": ext},
		PersistentField: map[string]*anypb.Any{"p": ext},
	}
	got, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: in})
	require.NoError(t, err)
	assert.Regexp(t, idPattern, got.GetId())
	assert.NotEqual(t, "client-chosen", got.GetId())
	assert.True(t, got.GetCreateTime().AsTime().Equal(t0), "create_time = %v, want %v", got.GetCreateTime().AsTime(), t0)
	assert.True(t, proto.Equal(in.GetSearchFields(), got.GetSearchFields()))
	assert.True(t, proto.Equal(ext, got.GetExtensions()["k"]))
	assert.True(t, proto.Equal(ext, got.GetPersistentField()["p"]))

	read, err := s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: got.GetId()})
	require.NoError(t, err)
	assert.True(t, proto.Equal(got, read), "GetTicket = %v, want %v", read, got)

	empty := createTicket(ctx, t, s, nil)
	second := createTicket(ctx, t, s, nil)
	assert.NotEqual(t, empty.GetId(), second.GetId())
	assert.ElementsMatch(t, []string{got.GetId(), empty.GetId(), second.GetId()}, queryIDs(ctx, t, s, &pb.Pool{}))
}

func TestDeleteTicket(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t)
	tk := createTicket(ctx, t, s, nil)
	_, err := s.Frontend().DeleteTicket(ctx, &pb.DeleteTicketRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	_, err = s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	assertStatus(t, err, codes.NotFound, "Ticket id: "+tk.GetId()+" not found")
	assert.Empty(t, queryIDs(ctx, t, s, &pb.Pool{}))
	_, err = s.Frontend().DeleteTicket(ctx, &pb.DeleteTicketRequest{TicketId: "unknown"})
	assert.NoError(t, err, "DeleteTicket(unknown) must succeed")
}

// matchAll is an in-process MMF proposing one match per ticket, scored by
// the ticket's "score" double arg.
func matchAll(t *testing.T, s **omtest.Server) omclient.MatchFunc {
	return func(ctx context.Context, p *pb.MatchProfile, _ map[string][]*pb.Ticket) ([]*pb.Match, error) {
		stream, err := (*s).Query().QueryTickets(ctx, &pb.QueryTicketsRequest{Pool: &pb.Pool{}})
		if err != nil {
			return nil, err
		}
		pages, err := recvAll(stream)
		if err != nil {
			return nil, err
		}
		var ms []*pb.Match
		for _, page := range pages {
			for _, tk := range page.GetTickets() {
				ms = append(ms, scored(t, p.GetName()+"-"+tk.GetId(), tk.GetSearchFields().GetDoubleArgs()["score"], tk))
			}
		}
		return ms, nil
	}
}

func TestTicketLifecycle(t *testing.T) {
	ctx := testCtx(t)
	var s *omtest.Server
	s, clock := newCore(t, omtest.WithMatchFunction(matchAll(t, &s)),
		omtest.WithPendingReleaseTimeout(time.Minute), omtest.WithAssignedDeleteTimeout(10*time.Minute))
	a := createTicket(ctx, t, s, nil)
	b := createTicket(ctx, t, s, nil)

	ms, err := fetch(ctx, s, "p")
	require.NoError(t, err)
	require.Len(t, ms, 2)
	assert.Empty(t, queryIDs(ctx, t, s, &pb.Pool{}), "tickets of returned matches must be pending")

	clock.Advance(time.Minute)
	assert.Empty(t, queryIDs(ctx, t, s, &pb.Pool{}), "still pending at exactly the timeout")
	clock.Advance(time.Nanosecond)
	assert.Len(t, queryIDs(ctx, t, s, &pb.Pool{}), 2, "pending tickets come back after the timeout")

	_, err = fetch(ctx, s, "p")
	require.NoError(t, err)
	_, err = s.Backend().ReleaseTickets(ctx, &pb.ReleaseTicketsRequest{TicketIds: []string{a.GetId(), "unknown"}})
	require.NoError(t, err)
	assert.Equal(t, []string{a.GetId()}, queryIDs(ctx, t, s, &pb.Pool{}))
	_, err = s.Backend().ReleaseAllTickets(ctx, &pb.ReleaseAllTicketsRequest{})
	require.NoError(t, err)
	assert.Len(t, queryIDs(ctx, t, s, &pb.Pool{}), 2)

	_, err = fetch(ctx, s, "p")
	require.NoError(t, err)
	resp, err := s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{
		{TicketIds: []string{b.GetId()}, Assignment: &pb.Assignment{Connection: "gs:1"}},
	}})
	require.NoError(t, err)
	assert.Empty(t, resp.GetFailures())
	_, err = s.Backend().ReleaseAllTickets(ctx, &pb.ReleaseAllTicketsRequest{})
	require.NoError(t, err)
	assert.Equal(t, []string{a.GetId()}, queryIDs(ctx, t, s, &pb.Pool{}), "assigned tickets are de-indexed")

	got, err := s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: b.GetId()})
	require.NoError(t, err)
	assert.Equal(t, "gs:1", got.GetAssignment().GetConnection())

	clock.Advance(10*time.Minute - time.Nanosecond)
	_, err = s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: b.GetId()})
	require.NoError(t, err, "assigned ticket kept until the assigned-delete timeout")
	clock.Advance(time.Nanosecond)
	_, err = s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: b.GetId()})
	assertStatus(t, err, codes.NotFound, "Ticket id: "+b.GetId()+" not found")
	_, err = s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: a.GetId()})
	assert.NoError(t, err, "unassigned tickets have no TTL")
}

func TestDeleteTicketClearsPending(t *testing.T) {
	ctx := testCtx(t)
	var s *omtest.Server
	s, _ = newCore(t, omtest.WithMatchFunction(matchAll(t, &s)))
	tk := createTicket(ctx, t, s, nil)
	_, err := fetch(ctx, s, "p")
	require.NoError(t, err)
	_, err = s.Frontend().DeleteTicket(ctx, &pb.DeleteTicketRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	assert.Empty(t, queryIDs(ctx, t, s, &pb.Pool{}))
}
