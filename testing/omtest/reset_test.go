package omtest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// Item 10: Reset forgets tickets, backfills and pending state, like
// flushing Redis, so that one core serves test after test.
func TestResetForgetsEverything(t *testing.T) {
	ctx := testCtx(t)
	var s *omtest.Server
	s, _ = newCore(t, omtest.WithMatchFunction(matchAll(t, &s)))
	pendingTk := createTicket(ctx, t, s, nil)
	ms, err := fetch(ctx, s, "p")
	require.NoError(t, err)
	require.Len(t, ms, 1, "one ticket made pending")
	activeTk := createTicket(ctx, t, s, nil)
	bf, err := s.Frontend().CreateBackfill(ctx, &pb.CreateBackfillRequest{Backfill: &pb.Backfill{}})
	require.NoError(t, err)
	watch, err := s.Frontend().WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: activeTk.GetId()})
	require.NoError(t, err)

	s.Reset()

	_, err = watch.Recv()
	assertStatus(t, err, codes.NotFound, "Ticket id: "+activeTk.GetId()+" not found")
	for _, id := range []string{pendingTk.GetId(), activeTk.GetId()} {
		_, err = s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: id})
		assertStatus(t, err, codes.NotFound, "Ticket id: "+id+" not found")
	}
	_, err = s.Frontend().GetBackfill(ctx, &pb.GetBackfillRequest{BackfillId: bf.GetId()})
	assertStatus(t, err, codes.NotFound, "Backfill id: "+bf.GetId()+" not found")
	assert.Empty(t, queryIDs(ctx, t, s, &pb.Pool{}))

	fresh := createTicket(ctx, t, s, nil)
	assert.Equal(t, []string{fresh.GetId()}, queryIDs(ctx, t, s, &pb.Pool{}), "the core works after Reset")
	ms, err = fetch(ctx, s, "p")
	require.NoError(t, err)
	assert.Equal(t, []string{"p-" + fresh.GetId()}, matchIDs(ms), "no pending state is left over")
}
