package omtest

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// frontend implements pb.FrontendServiceServer over the store.
type frontend struct {
	pb.UnimplementedFrontendServiceServer
	store *store
	done  <-chan struct{} // closed when the core closes
}

func ticketNotFound(id string) error {
	return status.Errorf(codes.NotFound, "Ticket id: %s not found", id)
}

func (f *frontend) CreateTicket(_ context.Context, req *pb.CreateTicketRequest) (*pb.Ticket, error) {
	t := req.GetTicket()
	switch {
	case t == nil:
		return nil, status.Error(codes.InvalidArgument, ".ticket is required")
	case t.GetAssignment() != nil:
		return nil, status.Error(codes.InvalidArgument, "tickets cannot be created with an assignment")
	case t.GetCreateTime() != nil:
		return nil, status.Error(codes.InvalidArgument, "tickets cannot be created with create time set")
	}
	return f.store.createTicket(t), nil
}

func (f *frontend) DeleteTicket(_ context.Context, req *pb.DeleteTicketRequest) (*emptypb.Empty, error) {
	f.store.deleteTicket(req.GetTicketId())
	return &emptypb.Empty{}, nil
}

func (f *frontend) GetTicket(_ context.Context, req *pb.GetTicketRequest) (*pb.Ticket, error) {
	if t := f.store.getTicket(req.GetTicketId()); t != nil {
		return t, nil
	}
	return nil, ticketNotFound(req.GetTicketId())
}

// WatchAssignments sends the ticket's assignment each time it changes to a
// new non-nil value. It wakes on store changes (and, for a real clock, when
// the ticket's assigned-delete time comes), and ends with NotFound once the
// ticket is gone.
func (f *frontend) WatchAssignments(req *pb.WatchAssignmentsRequest, stream grpc.ServerStreamingServer[pb.WatchAssignmentsResponse]) error {
	id := req.GetTicketId()
	ctx := stream.Context()
	var last *pb.Assignment
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		t, changed, deleteAt := f.store.watchState(id)
		if t == nil {
			return ticketNotFound(id)
		}
		if a := t.GetAssignment(); a != nil && (last == nil || !proto.Equal(a, last)) {
			if err := stream.Send(&pb.WatchAssignmentsResponse{Assignment: a}); err != nil {
				return err
			}
			last = a
		}
		var expire <-chan time.Time
		if !deleteAt.IsZero() && !f.store.clockNotifies {
			timer.Reset(max(deleteAt.Sub(f.store.clock.Now()), time.Millisecond))
			expire = timer.C
		}
		select {
		case <-changed:
		case <-expire:
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-f.done:
			return status.Error(codes.Unavailable, "omtest: server closing")
		}
	}
}

func (f *frontend) CreateBackfill(_ context.Context, req *pb.CreateBackfillRequest) (*pb.Backfill, error) {
	b := req.GetBackfill()
	switch {
	case b == nil:
		return nil, status.Error(codes.InvalidArgument, ".backfill is required")
	case b.GetCreateTime() != nil:
		return nil, status.Error(codes.InvalidArgument, "backfills cannot be created with create time set")
	}
	return f.store.createBackfill(b), nil
}

func (f *frontend) GetBackfill(_ context.Context, req *pb.GetBackfillRequest) (*pb.Backfill, error) {
	return f.store.getBackfill(req.GetBackfillId())
}

func (f *frontend) UpdateBackfill(_ context.Context, req *pb.UpdateBackfillRequest) (*pb.Backfill, error) {
	b := req.GetBackfill()
	switch {
	case b == nil:
		return nil, status.Error(codes.InvalidArgument, ".backfill is required")
	case b.GetId() == "":
		return nil, status.Error(codes.InvalidArgument, "backfill ID should exist")
	}
	return f.store.updateBackfill(b)
}

func (f *frontend) AcknowledgeBackfill(_ context.Context, req *pb.AcknowledgeBackfillRequest) (*pb.AcknowledgeBackfillResponse, error) {
	switch {
	case req.GetBackfillId() == "":
		return nil, status.Error(codes.InvalidArgument, ".BackfillId is required")
	case req.GetAssignment() == nil:
		return nil, status.Error(codes.InvalidArgument, ".Assignment is required")
	}
	b, tickets, err := f.store.acknowledgeBackfill(req.GetBackfillId(), req.GetAssignment())
	if err != nil {
		return nil, err
	}
	return &pb.AcknowledgeBackfillResponse{Backfill: b, Tickets: tickets}, nil
}

func (f *frontend) DeleteBackfill(_ context.Context, req *pb.DeleteBackfillRequest) (*emptypb.Empty, error) {
	if req.GetBackfillId() == "" {
		return nil, status.Error(codes.InvalidArgument, ".BackfillId is required")
	}
	f.store.deleteBackfill(req.GetBackfillId())
	return &emptypb.Empty{}, nil
}
