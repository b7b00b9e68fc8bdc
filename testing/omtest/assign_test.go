package omtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

func TestAssignTickets(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t)
	a := createTicket(ctx, t, s, nil).GetId()
	b := createTicket(ctx, t, s, nil).GetId()
	conn := &pb.Assignment{Connection: "gs"}
	tests := []struct {
		name         string
		groups       []*pb.AssignmentGroup
		wantCode     codes.Code
		wantMsg      string
		wantFailures []string
	}{
		{name: "empty request is OK", groups: nil},
		{name: "nil assignment", groups: []*pb.AssignmentGroup{{TicketIds: []string{a}}},
			wantCode: codes.InvalidArgument, wantMsg: "AssignmentGroup.Assignment is required"},
		{name: "nil assignment is checked before duplicates", groups: []*pb.AssignmentGroup{{TicketIds: []string{a, a}}},
			wantCode: codes.InvalidArgument, wantMsg: "AssignmentGroup.Assignment is required"},
		{name: "duplicate id in one group", groups: []*pb.AssignmentGroup{{TicketIds: []string{a, a}, Assignment: conn}},
			wantCode: codes.InvalidArgument, wantMsg: "Ticket id " + a + " is assigned multiple times in one assign tickets call"},
		{name: "duplicate id across groups", groups: []*pb.AssignmentGroup{{TicketIds: []string{b}, Assignment: conn}, {TicketIds: []string{b}, Assignment: conn}},
			wantCode: codes.InvalidArgument, wantMsg: "Ticket id " + b + " is assigned multiple times in one assign tickets call"},
		{name: "no ids in any group", groups: []*pb.AssignmentGroup{{Assignment: conn}, {Assignment: conn}},
			wantCode: codes.InvalidArgument, wantMsg: "AssignmentGroupTicketIds is empty"},
		{name: "unknown ids are failures", groups: []*pb.AssignmentGroup{{TicketIds: []string{"gone1", a, "gone2"}, Assignment: &pb.Assignment{}}},
			wantFailures: []string{"gone1", "gone2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: tc.groups})
			if tc.wantCode != codes.OK {
				assertStatus(t, err, tc.wantCode, tc.wantMsg)
				return
			}
			require.NoError(t, err)
			var failed []string
			for _, f := range resp.GetFailures() {
				assert.Equal(t, pb.AssignmentFailure_TICKET_NOT_FOUND, f.GetCause())
				failed = append(failed, f.GetTicketId())
			}
			assert.Equal(t, tc.wantFailures, failed, "failures = %v, want %v", failed, tc.wantFailures)
		})
	}
	got, err := s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: a})
	require.NoError(t, err)
	assert.NotNil(t, got.GetAssignment(), "an empty Assignment is accepted and stored")
	assert.Equal(t, []string{b}, queryIDs(ctx, t, s, &pb.Pool{}), "rejected requests assign nothing")
}

// watchMessages receives watch messages in the background, so a test can
// check both that one arrives and, with a short timeout, that none does.
func watchMessages(ctx context.Context, t *testing.T, stream grpc.ServerStreamingClient[pb.WatchAssignmentsResponse]) (<-chan *pb.Assignment, <-chan error) {
	t.Helper()
	msgs := make(chan *pb.Assignment, 16)
	errc := make(chan error, 1)
	go func() {
		for {
			resp, err := stream.Recv()
			if err != nil {
				errc <- err
				close(msgs)
				return
			}
			msgs <- resp.GetAssignment()
		}
	}()
	return msgs, errc
}

func TestWatchAssignments(t *testing.T) {
	ctx := testCtx(t)
	s, clock := newCore(t, omtest.WithAssignedDeleteTimeout(time.Minute))
	tk := createTicket(ctx, t, s, nil)
	stream, err := s.Frontend().WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	msgs, errc := watchMessages(ctx, t, stream)

	assign := func(conn string) {
		t.Helper()
		_, err := s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{
			{TicketIds: []string{tk.GetId()}, Assignment: &pb.Assignment{Connection: conn}},
		}})
		require.NoError(t, err)
	}
	expect := func(conn string) {
		t.Helper()
		select {
		case a := <-msgs:
			assert.True(t, proto.Equal(&pb.Assignment{Connection: conn}, a), "watch got %v, want connection %q", a, conn)
		case <-ctx.Done():
			t.Fatalf("no watch message for %q", conn)
		}
	}
	expectNothing := func() {
		t.Helper()
		select {
		case a := <-msgs:
			t.Fatalf("unexpected watch message %v", a)
		case <-time.After(100 * time.Millisecond):
		}
	}

	// Unrelated changes wake the watcher but send nothing.
	createTicket(ctx, t, s, nil)
	expectNothing()
	assign("gs:1")
	expect("gs:1")
	assign("gs:1")
	expectNothing()
	assign("gs:2")
	expect("gs:2")

	clock.Advance(time.Minute)
	select {
	case err := <-errc:
		assertStatus(t, err, codes.NotFound, "Ticket id: "+tk.GetId()+" not found")
	case <-ctx.Done():
		t.Fatal("watch did not end when the assigned ticket expired")
	}
}

func TestWatchAssignmentsEndsOnDelete(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t)
	tk := createTicket(ctx, t, s, nil)
	stream, err := s.Frontend().WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	_, errc := watchMessages(ctx, t, stream)
	_, err = s.Frontend().DeleteTicket(ctx, &pb.DeleteTicketRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	select {
	case err := <-errc:
		assertStatus(t, err, codes.NotFound, "Ticket id: "+tk.GetId()+" not found")
	case <-ctx.Done():
		t.Fatal("watch did not end when the ticket was deleted")
	}
}

func TestWatchAssignmentsRealClockExpiry(t *testing.T) {
	ctx := testCtx(t)
	s := omtest.NewServer(t, omtest.WithAssignedDeleteTimeout(50*time.Millisecond))
	tk := createTicket(ctx, t, s, nil)
	stream, err := s.Frontend().WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	_, errc := watchMessages(ctx, t, stream)
	_, err = s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{
		{TicketIds: []string{tk.GetId()}, Assignment: &pb.Assignment{Connection: "gs"}},
	}})
	require.NoError(t, err)
	select {
	case err := <-errc:
		assertStatus(t, err, codes.NotFound, "Ticket id: "+tk.GetId()+" not found")
	case <-ctx.Done():
		t.Fatal("watch did not end when the assigned ticket expired")
	}
}
