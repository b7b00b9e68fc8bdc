package omtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"

	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// mmfRunner calls the match function of a FetchMatches call.
type mmfRunner struct {
	fn     MatchFunc
	server pb.MatchFunctionServer
	dial   *dialCache
}

// run returns the proposals of the MMF. Proposals sent before a failure are
// returned with the error, as Open-Match forwards them. A panic in an
// in-process MMF becomes an error.
func (r *mmfRunner) run(ctx context.Context, req *pb.FetchMatchesRequest) (ms []*pb.Match, err error) {
	profile := proto.Clone(req.GetProfile()).(*pb.MatchProfile)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("omtest: match function panicked: %v", p)
		}
	}()
	switch {
	case r.fn != nil:
		return r.fn(ctx, profile)
	case r.server != nil:
		stream := &runStream{ctx: ctx}
		err := r.server.Run(&pb.RunRequest{Profile: profile}, stream)
		return stream.proposals, err
	default:
		return r.remote(ctx, req.GetConfig(), profile)
	}
}

func (r *mmfRunner) remote(ctx context.Context, cfg *pb.FunctionConfig, profile *pb.MatchProfile) ([]*pb.Match, error) {
	switch cfg.GetType() {
	case pb.FunctionConfig_GRPC:
	case pb.FunctionConfig_REST:
		return nil, errors.New("omtest: REST match functions are not supported")
	default:
		return nil, fmt.Errorf("provided match function type %v is not supported", cfg.GetType())
	}
	target := net.JoinHostPort(cfg.GetHost(), strconv.Itoa(int(cfg.GetPort())))
	cc, err := r.dial.get(target)
	if err != nil {
		return nil, fmt.Errorf("omtest: dial match function %s: %w", target, err)
	}
	stream, err := pb.NewMatchFunctionClient(cc).Run(ctx, &pb.RunRequest{Profile: profile})
	if err != nil {
		return nil, fmt.Errorf("omtest: run match function %s: %w", target, err)
	}
	var proposals []*pb.Match
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return proposals, nil
		}
		if err != nil {
			return proposals, fmt.Errorf("omtest: run match function %s: %w", target, err)
		}
		proposals = append(proposals, resp.GetProposal())
	}
}

// runStream is the in-process server stream given to a MatchFunctionServer:
// it keeps a copy of every proposal sent.
type runStream struct {
	ctx       context.Context
	proposals []*pb.Match
}

func (s *runStream) Send(resp *pb.RunResponse) error {
	if err := s.ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	s.proposals = append(s.proposals, proto.Clone(resp.GetProposal()).(*pb.Match))
	return nil
}

func (s *runStream) SendMsg(m any) error {
	resp, ok := m.(*pb.RunResponse)
	if !ok {
		return fmt.Errorf("omtest: unexpected message type %T", m)
	}
	return s.Send(resp)
}

func (s *runStream) RecvMsg(any) error            { return io.EOF }
func (s *runStream) SetHeader(metadata.MD) error  { return nil }
func (s *runStream) SendHeader(metadata.MD) error { return nil }
func (s *runStream) SetTrailer(metadata.MD)       {}
func (s *runStream) Context() context.Context     { return s.ctx }
