package omtest

import (
	"context"
	"fmt"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// backend implements pb.BackendServiceServer over the store and the
// synchronizer.
type backend struct {
	pb.UnimplementedBackendServiceServer
	store *store
	sync  *synchronizer
}

// FetchMatches joins the current synchronizer cycle, runs the match function
// and streams each of its matches as soon as the cycle's evaluator accepts
// it. Any match function or cycle error ends the stream with code Unknown,
// after the accepted matches, as in Open-Match.
func (b *backend) FetchMatches(req *pb.FetchMatchesRequest, stream grpc.ServerStreamingServer[pb.FetchMatchesResponse]) error {
	switch {
	case req.GetConfig() == nil:
		return status.Error(codes.InvalidArgument, ".config is required")
	case req.GetProfile() == nil:
		return status.Error(codes.InvalidArgument, ".profile is required")
	}
	res, err := b.sync.fetch(stream.Context(), req, func(m *pb.Match) error {
		return stream.Send(&pb.FetchMatchesResponse{Match: m})
	})
	if err != nil {
		return err
	}
	if res.syncErr != nil || res.mmfErr != nil {
		return status.Error(codes.Unknown,
			fmt.Sprintf("error(s) in FetchMatches call. syncErr=[%v], mmfErr=[%v]", res.syncErr, res.mmfErr))
	}
	return nil
}

// AssignTickets validates the groups in Open-Match's order, then writes the
// assignments and reports missing tickets as TICKET_NOT_FOUND failures.
func (b *backend) AssignTickets(_ context.Context, req *pb.AssignTicketsRequest) (*pb.AssignTicketsResponse, error) {
	groups := req.GetAssignments()
	if len(groups) == 0 {
		return &pb.AssignTicketsResponse{}, nil
	}
	if err := validateAssignments(groups); err != nil {
		return nil, err
	}
	resp := &pb.AssignTicketsResponse{}
	for _, id := range b.store.assign(groups) {
		resp.Failures = append(resp.Failures, &pb.AssignmentFailure{
			TicketId: id,
			Cause:    pb.AssignmentFailure_TICKET_NOT_FOUND,
		})
	}
	return resp, nil
}

func validateAssignments(groups []*pb.AssignmentGroup) error {
	seen := make(map[string]struct{})
	for _, g := range groups {
		if g.GetAssignment() == nil {
			return status.Error(codes.InvalidArgument, "AssignmentGroup.Assignment is required")
		}
		for _, id := range g.GetTicketIds() {
			if _, dup := seen[id]; dup {
				return status.Errorf(codes.InvalidArgument,
					"Ticket id %s is assigned multiple times in one assign tickets call", id)
			}
			seen[id] = struct{}{}
		}
	}
	if len(seen) == 0 {
		return status.Error(codes.InvalidArgument, "AssignmentGroupTicketIds is empty")
	}
	return nil
}

func (b *backend) ReleaseTickets(_ context.Context, req *pb.ReleaseTicketsRequest) (*pb.ReleaseTicketsResponse, error) {
	b.store.release(req.GetTicketIds())
	return &pb.ReleaseTicketsResponse{}, nil
}

func (b *backend) ReleaseAllTickets(context.Context, *pb.ReleaseAllTicketsRequest) (*pb.ReleaseAllTicketsResponse, error) {
	b.store.releaseAll()
	return &pb.ReleaseAllTicketsResponse{}, nil
}
