package omtest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/encoding/proto"
	protov2 "google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

func wireStore() *store {
	return newStore(Config{Clock: realClock{}, PendingReleaseTimeout: time.Minute, AssignedDeleteTimeout: time.Minute})
}

func wireTicket(region string) *pb.Ticket {
	return &pb.Ticket{SearchFields: &pb.SearchFields{
		DoubleArgs: map[string]float64{"skill": 7},
		StringArgs: map[string]string{"region": region},
		Tags:       []string{"mode.ranked"},
	}}
}

// cached counts the tickets whose encoding the store keeps.
func cached(s *store) int {
	s.wire.mu.RLock()
	defer s.wire.mu.RUnlock()
	return len(s.wire.m)
}

// roundTrip encodes v with the core's codec and decodes it with gRPC's.
func roundTrip(t *testing.T, s *store, v, into protov2.Message) {
	t.Helper()
	data, err := newWireCodec(&s.wire).Marshal(v)
	require.NoError(t, err)
	require.NoError(t, encoding.GetCodecV2(proto.Name).Unmarshal(data, into))
	assert.True(t, protov2.Equal(v, into), "decoded %v, want %v", into, v)
}

func TestWireCodecMatchFieldsComplete(t *testing.T) {
	fields := (&pb.Match{}).ProtoReflect().Descriptor().Fields()
	var names []string
	for i := range fields.Len() {
		names = append(names, string(fields.Get(i).Name()))
	}
	assert.ElementsMatch(t, matchFields, names, "withoutTickets must copy every field of pb.Match but tickets")
}

func TestWireCodecDecodesToSameMessage(t *testing.T) {
	s := wireStore()
	stored := []*pb.Ticket{s.createTicket(wireTicket("eu")), s.createTicket(wireTicket("us"))}
	loose := &pb.Ticket{Id: "not-stored", SearchFields: &pb.SearchFields{Tags: []string{"x"}}}
	ext, err := anypb.New(wrapperspb.String("v"))
	require.NoError(t, err)
	m := &pb.Match{
		MatchId: "m1", MatchProfile: "p", MatchFunction: "f", AllocateGameserver: true,
		Tickets:    append(stored, loose),
		Extensions: map[string]*anypb.Any{"k": ext},
		Backfill:   &pb.Backfill{Id: "b", Generation: 3},
	}
	roundTrip(t, s, &pb.FetchMatchesResponse{Match: m}, &pb.FetchMatchesResponse{})
	roundTrip(t, s, &pb.FetchMatchesResponse{Match: &pb.Match{MatchId: "empty"}}, &pb.FetchMatchesResponse{})
	roundTrip(t, s, &pb.FetchMatchesResponse{}, &pb.FetchMatchesResponse{})
	roundTrip(t, s, &pb.QueryTicketsResponse{Tickets: append(stored, loose)}, &pb.QueryTicketsResponse{})
	roundTrip(t, s, &pb.QueryTicketsResponse{}, &pb.QueryTicketsResponse{})
}

func TestWireCodecNilTicketAsGRPC(t *testing.T) {
	s := wireStore()
	for _, v := range []any{
		&pb.QueryTicketsResponse{Tickets: []*pb.Ticket{nil}},
		&pb.FetchMatchesResponse{Match: &pb.Match{Tickets: []*pb.Ticket{nil}}},
	} {
		want, wantErr := encoding.GetCodecV2(proto.Name).Marshal(v)
		got, err := newWireCodec(&s.wire).Marshal(v)
		assert.Equal(t, wantErr, err)
		assert.Equal(t, want.Materialize(), got.Materialize())
	}
}

func TestWireCacheFollowsStore(t *testing.T) {
	s := wireStore()
	a, b, c := s.createTicket(wireTicket("eu")), s.createTicket(wireTicket("us")), s.createTicket(wireTicket("ap"))
	require.Equal(t, 3, cached(s))
	s.assign([]*pb.AssignmentGroup{{TicketIds: []string{a.Id}, Assignment: &pb.Assignment{Connection: "x"}}})
	assert.Equal(t, 2, cached(s), "an assigned ticket is a new copy; the old encoding goes")
	s.deleteTicket(b.Id)
	assert.Equal(t, 1, cached(s), "a deleted ticket's encoding goes")
	data, err := newWireCodec(&s.wire).Marshal(&pb.QueryTicketsResponse{Tickets: []*pb.Ticket{c}})
	require.NoError(t, err)
	want, err := protov2.Marshal(&pb.QueryTicketsResponse{Tickets: []*pb.Ticket{c}})
	require.NoError(t, err)
	assert.Equal(t, want, data.Materialize())
	s.reset()
	assert.Equal(t, 0, cached(s), "reset forgets every encoding")
}
