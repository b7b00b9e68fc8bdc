package omclient

import (
	"context"
	"fmt"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// MatchFunc is the matchmaking logic of a match function. It gets the profile
// and the tickets of each of its pools, by pool name, and returns proposals.
// Proposals need a match_id unique within the evaluation cycle.
type MatchFunc func(ctx context.Context, profile *pb.MatchProfile, pools map[string][]*pb.Ticket) ([]*pb.Match, error)

// NewMatchFunctionServer returns a Server for the MatchFunction service. For
// each Run call it queries the profile's pools through q (concurrently, with
// the Query client's restarts), calls fn and streams the proposals back. A
// panic in fn fails that call with code Internal. A nil q or fn makes every
// Run fail with code FailedPrecondition; the process keeps serving.
func NewMatchFunctionServer(q *Query, fn MatchFunc, opts ...ServerOption) *Server {
	s := newServer(opts)
	pb.RegisterMatchFunctionServer(s.gs, &mmfService{q: q, fn: fn, s: s})
	return s
}

type mmfService struct {
	pb.UnimplementedMatchFunctionServer
	q  *Query
	fn MatchFunc
	s  *Server
}

func (m *mmfService) Run(req *pb.RunRequest, stream pb.MatchFunction_RunServer) error {
	profile := req.GetProfile()
	if profile == nil {
		return status.Error(codes.InvalidArgument, "omclient: match function: profile is required")
	}
	if err := m.check(); err != nil {
		m.s.logger.Error("match function: misconfigured server", "err", err)
		return err
	}
	ctx := stream.Context()
	pools, err := m.q.QueryPools(ctx, profile.GetPools())
	if err != nil {
		m.s.logger.Error("match function: query pools", "profile", profile.GetName(), "err", err)
		return err
	}
	proposals, err := callMatchFunc(ctx, m.fn, profile, pools)
	if err != nil {
		m.s.logger.Error("match function failed", "profile", profile.GetName(), "err", err)
		return err
	}
	for _, p := range proposals {
		if err := stream.Send(&pb.RunResponse{Proposal: p}); err != nil {
			return err
		}
	}
	return nil
}

// callMatchFunc runs fn, turning a panic into an Internal error.
func callMatchFunc(ctx context.Context, fn MatchFunc, profile *pb.MatchProfile, pools map[string][]*pb.Ticket) (ms []*pb.Match, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = status.Errorf(codes.Internal, "omclient: match function panicked: %v", r)
		}
	}()
	ms, err = fn(ctx, profile, pools)
	if err != nil && status.Code(err) == codes.Unknown {
		err = fmt.Errorf("omclient: match function for profile %s: %w", profile.GetName(), err)
	}
	return ms, err
}

// check reports a server built without a Query client or a MatchFunc.
func (m *mmfService) check() error {
	if m.q == nil {
		return status.Error(codes.FailedPrecondition, "omclient: match function: NewMatchFunctionServer was given a nil *Query")
	}
	if m.fn == nil {
		return status.Error(codes.FailedPrecondition, "omclient: match function: NewMatchFunctionServer was given a nil MatchFunc")
	}
	return nil
}
