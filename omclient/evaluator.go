package omclient

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/internal/defaulteval"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// EvaluateFunc decides which proposals of one evaluation cycle become matches.
// It returns the match ids of the accepted proposals.
type EvaluateFunc func(ctx context.Context, proposals []*pb.Match) ([]string, error)

// DefaultEvaluate is Open-Match's default evaluator as a plain function. Each
// proposal is scored by the DefaultEvaluationCriteria in its
// "evaluation_input" extension (a missing one scores -Inf; one that does not
// decode drops the proposal). Going from the highest score down, a proposal is
// accepted unless one of its tickets, or its backfill, is already in an
// accepted one. Order among equal scores is unspecified.
func DefaultEvaluate(proposals []*pb.Match) []string {
	return defaulteval.Evaluate(proposals)
}

// NewEvaluatorServer returns a Server for the Evaluator service. Each Evaluate
// stream's proposals are read until the caller closes its side, then passed to
// fn, and the accepted ids are streamed back. A nil fn uses DefaultEvaluate. A
// panic in fn fails that call with code Internal.
func NewEvaluatorServer(fn EvaluateFunc, opts ...ServerOption) *Server {
	if fn == nil {
		fn = func(_ context.Context, ms []*pb.Match) ([]string, error) { return DefaultEvaluate(ms), nil }
	}
	s := newServer(opts)
	pb.RegisterEvaluatorServer(s.gs, &evalService{fn: fn, s: s})
	return s
}

type evalService struct {
	pb.UnimplementedEvaluatorServer
	fn EvaluateFunc
	s  *Server
}

func (e *evalService) Evaluate(stream pb.Evaluator_EvaluateServer) error {
	var proposals []*pb.Match
	for {
		req, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if req.GetMatch() != nil {
			proposals = append(proposals, req.GetMatch())
		}
	}
	ids, err := callEvaluate(stream.Context(), e.fn, proposals)
	if err != nil {
		e.s.logger.Error("evaluator failed", "proposals", len(proposals), "err", err)
		return err
	}
	for _, id := range ids {
		if err := stream.Send(&pb.EvaluateResponse{MatchId: id}); err != nil {
			return err
		}
	}
	return nil
}

// callEvaluate runs fn, turning a panic into an Internal error.
func callEvaluate(ctx context.Context, fn EvaluateFunc, proposals []*pb.Match) (ids []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = status.Errorf(codes.Internal, "omclient: evaluator panicked: %v", r)
		}
	}()
	return fn(ctx, proposals)
}
