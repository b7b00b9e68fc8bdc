package omtest_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// TestErrorTable checks every malformed or unknown-id request of Open-Match's
// error summary: same code, same message.
func TestErrorTable(t *testing.T) {
	now := timestamppb.New(t0)
	type env struct {
		s       *omtest.Server
		clock   *omtest.FakeClock
		expired string // a backfill past its TTL
	}
	tests := []struct {
		name string
		call func(ctx context.Context, e env) error
		code codes.Code
		msg  string
	}{
		{name: "CreateTicket nil ticket", code: codes.InvalidArgument, msg: ".ticket is required",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{})
				return err
			}},
		{name: "CreateTicket with assignment", code: codes.InvalidArgument, msg: "tickets cannot be created with an assignment",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{Assignment: &pb.Assignment{}}})
				return err
			}},
		{name: "CreateTicket with create_time", code: codes.InvalidArgument, msg: "tickets cannot be created with create time set",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{CreateTime: now}})
				return err
			}},
		{name: "GetTicket unknown", code: codes.NotFound, msg: "Ticket id: nope not found",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: "nope"})
				return err
			}},
		{name: "GetTicket empty id", code: codes.NotFound, msg: "Ticket id:  not found",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{})
				return err
			}},
		{name: "DeleteTicket unknown", code: codes.OK,
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().DeleteTicket(ctx, &pb.DeleteTicketRequest{TicketId: "nope"})
				return err
			}},
		{name: "WatchAssignments unknown", code: codes.NotFound, msg: "Ticket id: nope not found",
			call: func(ctx context.Context, e env) error {
				stream, err := e.s.Frontend().WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: "nope"})
				if err != nil {
					return err
				}
				_, err = stream.Recv()
				return err
			}},
		{name: "QueryTickets nil pool", code: codes.InvalidArgument, msg: ".pool is required",
			call: func(ctx context.Context, e env) error {
				stream, err := e.s.Query().QueryTickets(ctx, &pb.QueryTicketsRequest{})
				if err != nil {
					return err
				}
				_, err = recvAll(stream)
				return err
			}},
		{name: "QueryTicketIds invalid created_before", code: codes.InvalidArgument, msg: ".invalid created_before value",
			call: func(ctx context.Context, e env) error {
				_, err := queryIDsErr(ctx, e.s, &pb.Pool{CreatedBefore: &timestamppb.Timestamp{Nanos: -1}})
				return err
			}},
		{name: "QueryBackfills invalid created_after", code: codes.InvalidArgument, msg: ".invalid created_after value",
			call: func(ctx context.Context, e env) error {
				stream, err := e.s.Query().QueryBackfills(ctx, &pb.QueryBackfillsRequest{Pool: &pb.Pool{CreatedAfter: &timestamppb.Timestamp{Seconds: 1 << 62}}})
				if err != nil {
					return err
				}
				_, err = recvAll(stream)
				return err
			}},
		{name: "FetchMatches nil config", code: codes.InvalidArgument, msg: ".config is required",
			call: func(ctx context.Context, e env) error {
				return fetchReq(ctx, e.s, &pb.FetchMatchesRequest{Profile: &pb.MatchProfile{}})
			}},
		{name: "FetchMatches nil profile", code: codes.InvalidArgument, msg: ".profile is required",
			call: func(ctx context.Context, e env) error {
				return fetchReq(ctx, e.s, &pb.FetchMatchesRequest{Config: &pb.FunctionConfig{}})
			}},
		{name: "FetchMatches unknown function type", code: codes.Unknown, msg: "error(s) in FetchMatches call. syncErr=[<nil>], mmfErr=[provided match function type 9 is not supported]",
			call: func(ctx context.Context, e env) error {
				return fetchReq(ctx, e.s, &pb.FetchMatchesRequest{Config: &pb.FunctionConfig{Type: 9}, Profile: &pb.MatchProfile{}})
			}},
		{name: "AssignTickets empty request", code: codes.OK,
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{})
				return err
			}},
		{name: "AssignTickets nil assignment", code: codes.InvalidArgument, msg: "AssignmentGroup.Assignment is required",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{{TicketIds: []string{"x"}}}})
				return err
			}},
		{name: "AssignTickets duplicate id", code: codes.InvalidArgument, msg: "Ticket id x is assigned multiple times in one assign tickets call",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{{TicketIds: []string{"x", "x"}, Assignment: &pb.Assignment{}}}})
				return err
			}},
		{name: "AssignTickets no ids", code: codes.InvalidArgument, msg: "AssignmentGroupTicketIds is empty",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Backend().AssignTickets(ctx, &pb.AssignTicketsRequest{Assignments: []*pb.AssignmentGroup{{Assignment: &pb.Assignment{}}}})
				return err
			}},
		{name: "ReleaseTickets unknown and empty", code: codes.OK,
			call: func(ctx context.Context, e env) error {
				if _, err := e.s.Backend().ReleaseTickets(ctx, &pb.ReleaseTicketsRequest{}); err != nil {
					return err
				}
				_, err := e.s.Backend().ReleaseTickets(ctx, &pb.ReleaseTicketsRequest{TicketIds: []string{"nope"}})
				return err
			}},
		{name: "ReleaseAllTickets", code: codes.OK,
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Backend().ReleaseAllTickets(ctx, &pb.ReleaseAllTicketsRequest{})
				return err
			}},
		{name: "CreateBackfill nil", code: codes.InvalidArgument, msg: ".backfill is required",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().CreateBackfill(ctx, &pb.CreateBackfillRequest{})
				return err
			}},
		{name: "CreateBackfill with create_time", code: codes.InvalidArgument, msg: "backfills cannot be created with create time set",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().CreateBackfill(ctx, &pb.CreateBackfillRequest{Backfill: &pb.Backfill{CreateTime: now}})
				return err
			}},
		{name: "UpdateBackfill nil", code: codes.InvalidArgument, msg: ".backfill is required",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().UpdateBackfill(ctx, &pb.UpdateBackfillRequest{})
				return err
			}},
		{name: "UpdateBackfill no id", code: codes.InvalidArgument, msg: "backfill ID should exist",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().UpdateBackfill(ctx, &pb.UpdateBackfillRequest{Backfill: &pb.Backfill{}})
				return err
			}},
		{name: "UpdateBackfill unknown", code: codes.NotFound, msg: "Backfill id: nope not found",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().UpdateBackfill(ctx, &pb.UpdateBackfillRequest{Backfill: &pb.Backfill{Id: "nope"}})
				return err
			}},
		{name: "UpdateBackfill expired", code: codes.Unavailable, msg: "can not update an expired backfill, id: ",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().UpdateBackfill(ctx, &pb.UpdateBackfillRequest{Backfill: &pb.Backfill{Id: e.expired}})
				return err
			}},
		{name: "AcknowledgeBackfill no id", code: codes.InvalidArgument, msg: ".BackfillId is required",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().AcknowledgeBackfill(ctx, &pb.AcknowledgeBackfillRequest{Assignment: &pb.Assignment{}})
				return err
			}},
		{name: "AcknowledgeBackfill no assignment", code: codes.InvalidArgument, msg: ".Assignment is required",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().AcknowledgeBackfill(ctx, &pb.AcknowledgeBackfillRequest{BackfillId: "nope"})
				return err
			}},
		{name: "AcknowledgeBackfill unknown", code: codes.NotFound, msg: "Backfill id: nope not found",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().AcknowledgeBackfill(ctx, &pb.AcknowledgeBackfillRequest{BackfillId: "nope", Assignment: &pb.Assignment{}})
				return err
			}},
		{name: "AcknowledgeBackfill expired", code: codes.Unavailable, msg: "can not acknowledge an expired backfill, id: ",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().AcknowledgeBackfill(ctx, &pb.AcknowledgeBackfillRequest{BackfillId: e.expired, Assignment: &pb.Assignment{}})
				return err
			}},
		{name: "GetBackfill unknown", code: codes.NotFound, msg: "Backfill id: nope not found",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().GetBackfill(ctx, &pb.GetBackfillRequest{BackfillId: "nope"})
				return err
			}},
		{name: "DeleteBackfill empty id", code: codes.InvalidArgument, msg: ".BackfillId is required",
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().DeleteBackfill(ctx, &pb.DeleteBackfillRequest{})
				return err
			}},
		{name: "DeleteBackfill unknown", code: codes.OK,
			call: func(ctx context.Context, e env) error {
				_, err := e.s.Frontend().DeleteBackfill(ctx, &pb.DeleteBackfillRequest{BackfillId: "nope"})
				return err
			}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			s, clock := newCore(t)
			b, err := s.Frontend().CreateBackfill(ctx, &pb.CreateBackfillRequest{Backfill: &pb.Backfill{}})
			require.NoError(t, err)
			clock.Advance(omtest.DefaultPendingReleaseTimeout) // past 0.8 × the timeout
			msg := tc.msg
			if msg != "" && msg[len(msg)-1] == ' ' {
				msg += b.GetId()
			}
			err = tc.call(ctx, env{s: s, clock: clock, expired: b.GetId()})
			if tc.code == codes.OK {
				require.NoError(t, err)
				return
			}
			assertStatus(t, err, tc.code, msg)
		})
	}
}

func fetchReq(ctx context.Context, s *omtest.Server, req *pb.FetchMatchesRequest) error {
	if clock, ok := fakeClocks.Load(s); ok {
		defer advanceWindow(ctx, clock.(*omtest.FakeClock))()
	}
	stream, err := s.Backend().FetchMatches(ctx, req)
	if err != nil {
		return err
	}
	_, err = recvAll(stream)
	return err
}
