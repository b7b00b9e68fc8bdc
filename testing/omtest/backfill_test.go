package omtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

func anyOf(t *testing.T, s string) *anypb.Any {
	t.Helper()
	a, err := anypb.New(wrapperspb.String(s))
	require.NoError(t, err)
	return a
}

func TestBackfillCRUD(t *testing.T) {
	ctx := testCtx(t)
	s, clock := newCore(t)
	fe := s.Frontend()
	created, err := fe.CreateBackfill(ctx, &pb.CreateBackfillRequest{Backfill: &pb.Backfill{
		Id: "mine", Generation: 99,
		SearchFields:    &pb.SearchFields{Tags: []string{"t"}},
		PersistentField: map[string]*anypb.Any{"p": anyOf(t, "v1")},
	}})
	require.NoError(t, err)
	assert.Regexp(t, idPattern, created.GetId())
	assert.Equal(t, int64(1), created.GetGeneration(), "client generation is ignored")
	assert.True(t, created.GetCreateTime().AsTime().Equal(t0))

	got, err := fe.GetBackfill(ctx, &pb.GetBackfillRequest{BackfillId: created.GetId()})
	require.NoError(t, err)
	assert.True(t, proto.Equal(created, got), "GetBackfill = %v, want %v", got, created)

	clock.Advance(time.Second)
	updated, err := fe.UpdateBackfill(ctx, &pb.UpdateBackfillRequest{Backfill: &pb.Backfill{
		Id: created.GetId(), Generation: 50,
		SearchFields:    &pb.SearchFields{Tags: []string{"u"}},
		PersistentField: map[string]*anypb.Any{"p": anyOf(t, "v2")},
		CreateTime:      timestamppb.New(t0.Add(time.Hour)),
	}})
	require.NoError(t, err)
	assert.Equal(t, int64(2), updated.GetGeneration(), "update adds 1 to the stored generation")
	assert.Equal(t, []string{"u"}, updated.GetSearchFields().GetTags())
	assert.True(t, proto.Equal(anyOf(t, "v2"), updated.GetPersistentField()["p"]), "frontend update replaces persistent_field")
	assert.True(t, updated.GetCreateTime().AsTime().Equal(t0), "create_time is kept")

	_, err = fe.DeleteBackfill(ctx, &pb.DeleteBackfillRequest{BackfillId: created.GetId()})
	require.NoError(t, err)
	_, err = fe.GetBackfill(ctx, &pb.GetBackfillRequest{BackfillId: created.GetId()})
	assertStatus(t, err, codes.NotFound, "Backfill id: "+created.GetId()+" not found")
	_, err = fe.DeleteBackfill(ctx, &pb.DeleteBackfillRequest{BackfillId: "unknown"})
	assert.NoError(t, err, "DeleteBackfill(unknown) succeeds")
}

func TestBackfillExpiry(t *testing.T) {
	ctx := testCtx(t)
	s, clock := newCore(t, omtest.WithPendingReleaseTimeout(10*time.Second))
	fe := s.Frontend()
	b, err := fe.CreateBackfill(ctx, &pb.CreateBackfillRequest{Backfill: &pb.Backfill{}})
	require.NoError(t, err)
	ack := &pb.AcknowledgeBackfillRequest{BackfillId: b.GetId(), Assignment: &pb.Assignment{Connection: "gs"}}

	clock.Advance(8 * time.Second) // TTL is 0.8 × 10s; exactly at the TTL it is still alive
	_, err = fe.AcknowledgeBackfill(ctx, ack)
	require.NoError(t, err, "acknowledge refreshes the TTL")
	clock.Advance(8 * time.Second)
	_, err = fe.UpdateBackfill(ctx, &pb.UpdateBackfillRequest{Backfill: &pb.Backfill{Id: b.GetId()}})
	require.NoError(t, err)

	clock.Advance(8*time.Second + time.Nanosecond)
	_, err = fe.AcknowledgeBackfill(ctx, ack)
	assertStatus(t, err, codes.Unavailable, "can not acknowledge an expired backfill, id: "+b.GetId())
	_, err = fe.UpdateBackfill(ctx, &pb.UpdateBackfillRequest{Backfill: &pb.Backfill{Id: b.GetId()}})
	assertStatus(t, err, codes.Unavailable, "can not update an expired backfill, id: "+b.GetId())
	_, err = fe.GetBackfill(ctx, &pb.GetBackfillRequest{BackfillId: b.GetId()})
	require.NoError(t, err, "expired backfills stay readable until a cycle cleans up")

	_, err = fetch(ctx, s, "cleanup")
	require.Error(t, err, "no MMF is reachable at 127.0.0.1:1")
	_, err = fe.GetBackfill(ctx, &pb.GetBackfillRequest{BackfillId: b.GetId()})
	assertStatus(t, err, codes.NotFound, "Backfill id: "+b.GetId()+" not found")
}

// backfillMMF proposes one match over every active ticket carrying bf.
func backfillMMF(s **omtest.Server, bf func() *pb.Backfill) omclient.MatchFunc {
	return func(ctx context.Context, p *pb.MatchProfile, _ map[string][]*pb.Ticket) ([]*pb.Match, error) {
		ids, err := queryIDsErr(ctx, *s, &pb.Pool{})
		if err != nil {
			return nil, err
		}
		m := &pb.Match{MatchId: p.GetName(), Backfill: bf()}
		for _, id := range ids {
			m.Tickets = append(m.Tickets, &pb.Ticket{Id: id})
		}
		return []*pb.Match{m}, nil
	}
}

func TestBackfillFromMatchFunction(t *testing.T) {
	ctx := testCtx(t)
	var s *omtest.Server
	var next *pb.Backfill
	s, _ = newCore(t, omtest.WithMatchFunction(backfillMMF(&s, func() *pb.Backfill { return proto.Clone(next).(*pb.Backfill) })))
	fe := s.Frontend()

	// A match with a new backfill creates it with the tickets attached.
	t1 := createTicket(ctx, t, s, nil)
	next = &pb.Backfill{SearchFields: &pb.SearchFields{Tags: []string{"open"}}, PersistentField: map[string]*anypb.Any{"p": anyOf(t, "kept")}}
	ms, err := fetch(ctx, s, "create")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	created := ms[0].GetBackfill()
	assert.Regexp(t, idPattern, created.GetId(), "the returned match carries the new id")
	assert.Equal(t, int64(1), created.GetGeneration())
	assert.NotNil(t, created.GetCreateTime())
	stored, err := fe.GetBackfill(ctx, &pb.GetBackfillRequest{BackfillId: created.GetId()})
	require.NoError(t, err)
	assert.Equal(t, []string{"open"}, stored.GetSearchFields().GetTags())

	// Updating with the stored generation bumps it and attaches more tickets.
	t2 := createTicket(ctx, t, s, nil)
	next = &pb.Backfill{Id: created.GetId(), Generation: 1, SearchFields: &pb.SearchFields{Tags: []string{"fuller"}},
		PersistentField: map[string]*anypb.Any{"p": anyOf(t, "ignored")}}
	ms, err = fetch(ctx, s, "update")
	require.NoError(t, err)
	require.Len(t, ms, 1)
	assert.Equal(t, int64(1), ms[0].GetBackfill().GetGeneration(), "the caller sees the backfill as the MMF sent it")
	stored, err = fe.GetBackfill(ctx, &pb.GetBackfillRequest{BackfillId: created.GetId()})
	require.NoError(t, err)
	assert.Equal(t, int64(2), stored.GetGeneration())
	assert.Equal(t, []string{"fuller"}, stored.GetSearchFields().GetTags())
	assert.True(t, proto.Equal(anyOf(t, "kept"), stored.GetPersistentField()["p"]), "MMF updates keep persistent_field")

	// A stale generation silently drops the match and releases its tickets.
	t3 := createTicket(ctx, t, s, nil)
	next = &pb.Backfill{Id: created.GetId(), Generation: 1}
	ms, err = fetch(ctx, s, "stale")
	require.NoError(t, err)
	assert.Empty(t, ms, "a generation mismatch drops the match")
	assert.Equal(t, []string{t3.GetId()}, queryIDs(ctx, t, s, &pb.Pool{}), "the dropped match's tickets are active again")

	// An unknown backfill id is dropped the same way.
	next = &pb.Backfill{Id: "unknown", Generation: 1}
	ms, err = fetch(ctx, s, "unknown")
	require.NoError(t, err)
	assert.Empty(t, ms)
	assert.Equal(t, []string{t3.GetId()}, queryIDs(ctx, t, s, &pb.Pool{}))

	// Acknowledging assigns every attached ticket once.
	resp, err := fe.AcknowledgeBackfill(ctx, &pb.AcknowledgeBackfillRequest{BackfillId: created.GetId(), Assignment: &pb.Assignment{Connection: "gs:7"}})
	require.NoError(t, err)
	assert.Equal(t, int64(2), resp.GetBackfill().GetGeneration(), "acknowledge keeps the generation")
	var assigned []string
	for _, tk := range resp.GetTickets() {
		assert.Equal(t, "gs:7", tk.GetAssignment().GetConnection())
		assigned = append(assigned, tk.GetId())
	}
	assert.ElementsMatch(t, []string{t1.GetId(), t2.GetId()}, assigned)
	resp, err = fe.AcknowledgeBackfill(ctx, &pb.AcknowledgeBackfillRequest{BackfillId: created.GetId(), Assignment: &pb.Assignment{Connection: "gs:7"}})
	require.NoError(t, err)
	assert.Empty(t, resp.GetTickets(), "a second acknowledge assigns nothing")
}

func TestBackfillFrontendChangesReleaseAttachedTickets(t *testing.T) {
	for _, op := range []string{"update", "delete"} {
		t.Run(op, func(t *testing.T) {
			ctx := testCtx(t)
			var s *omtest.Server
			s, _ = newCore(t, omtest.WithMatchFunction(backfillMMF(&s, func() *pb.Backfill { return &pb.Backfill{} })))
			tk := createTicket(ctx, t, s, nil)
			ms, err := fetch(ctx, s, "create")
			require.NoError(t, err)
			require.Len(t, ms, 1)
			assert.Empty(t, queryIDs(ctx, t, s, &pb.Pool{}))
			id := ms[0].GetBackfill().GetId()
			if op == "update" {
				_, err = s.Frontend().UpdateBackfill(ctx, &pb.UpdateBackfillRequest{Backfill: &pb.Backfill{Id: id}})
			} else {
				_, err = s.Frontend().DeleteBackfill(ctx, &pb.DeleteBackfillRequest{BackfillId: id})
			}
			require.NoError(t, err)
			assert.Equal(t, []string{tk.GetId()}, queryIDs(ctx, t, s, &pb.Pool{}), "attached tickets return to the pool")
		})
	}
}

func TestDefaultEvaluatorDedupesBackfills(t *testing.T) {
	ctx := testCtx(t)
	var bfID string
	s, _ := newCore(t, omtest.WithMatchFunction(func(context.Context, *pb.MatchProfile, map[string][]*pb.Ticket) ([]*pb.Match, error) {
		low, high := scored(t, "low", 1), scored(t, "high", 2)
		low.Backfill = &pb.Backfill{Id: bfID, Generation: 1}
		high.Backfill = &pb.Backfill{Id: bfID, Generation: 1}
		return []*pb.Match{low, high}, nil
	}))
	b, err := s.Frontend().CreateBackfill(ctx, &pb.CreateBackfillRequest{Backfill: &pb.Backfill{}})
	require.NoError(t, err)
	bfID = b.GetId()
	ms, err := fetch(ctx, s, "p")
	require.NoError(t, err)
	assert.Equal(t, []string{"high"}, matchIDs(ms), "two matches on one backfill: only the better one")
}
