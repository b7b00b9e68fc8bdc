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

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// mmfRunner calls the match function of a FetchMatches call.
type mmfRunner struct {
	fn     omclient.MatchFunc
	server pb.MatchFunctionServer
	store  *store
	dial   *dialCache
	rest   *restClient
}

// run calls the MMF and hands each proposal to emit as it arrives, so the
// evaluator sees it at once; proposals before a failure are kept, as
// Open-Match forwards them. A panic in an in-process MMF becomes an error.
func (r *mmfRunner) run(ctx context.Context, req *pb.FetchMatchesRequest, emit func(*pb.Match)) (err error) {
	profile := proto.Clone(req.GetProfile()).(*pb.MatchProfile)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("omtest: match function panicked: %v", p)
		}
	}()
	switch {
	case r.fn != nil:
		return r.local(ctx, profile, emit)
	case r.server != nil:
		return r.server.Run(&pb.RunRequest{Profile: profile}, &runStream{ctx: ctx, emit: emit})
	default:
		return r.remote(ctx, req.GetConfig(), profile, emit)
	}
}

// local queries the profile's pools from the store and calls fn with them,
// like omclient.NewMatchFunctionServer does with QueryPools.
func (r *mmfRunner) local(ctx context.Context, profile *pb.MatchProfile, emit func(*pb.Match)) error {
	pools, err := r.store.queryPools(profile.GetPools())
	if err != nil {
		return fmt.Errorf("omtest: query pools of profile %s: %w", profile.GetName(), err)
	}
	ms, err := r.fn(ctx, profile, pools)
	for _, m := range ms {
		emit(m)
	}
	return err
}

func (r *mmfRunner) remote(ctx context.Context, cfg *pb.FunctionConfig, profile *pb.MatchProfile, emit func(*pb.Match)) error {
	target := net.JoinHostPort(cfg.GetHost(), strconv.Itoa(int(cfg.GetPort())))
	switch cfg.GetType() {
	case pb.FunctionConfig_GRPC:
		return r.grpc(ctx, target, profile, emit)
	case pb.FunctionConfig_REST:
		return r.rest.run(ctx, target, profile, emit)
	default:
		return fmt.Errorf("provided match function type %v is not supported", cfg.GetType())
	}
}

// grpc runs a gRPC match function, with Open-Match's error texts.
func (r *mmfRunner) grpc(ctx context.Context, target string, profile *pb.MatchProfile, emit func(*pb.Match)) error {
	cc, err := r.dial.get(target)
	if err != nil {
		return fmt.Errorf("omtest: dial match function %s: %w", target, err)
	}
	stream, err := pb.NewMatchFunctionClient(cc).Run(ctx, &pb.RunRequest{Profile: profile})
	if err != nil {
		return fmt.Errorf("failed to run match function for profile: %w", err)
	}
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("failed to run match function for profile: %w", err)
		}
		emit(resp.GetProposal())
	}
}

// runStream is the in-process server stream given to a MatchFunctionServer:
// it hands a copy of every proposal to emit.
type runStream struct {
	ctx  context.Context
	emit func(*pb.Match)
}

func (s *runStream) Send(resp *pb.RunResponse) error {
	if err := s.ctx.Err(); err != nil {
		return status.FromContextError(err).Err()
	}
	s.emit(proto.Clone(resp.GetProposal()).(*pb.Match))
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
func (s *runStream) SetTrailer(metadata.MD)       {}
func (s *runStream) SendHeader(metadata.MD) error { return nil }
func (s *runStream) Context() context.Context     { return s.ctx }
