package istiotest

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// handle proxies one call, retrying it as the route allows.
func (p *Proxy) handle(_ any, ss grpc.ServerStream) error {
	method, ok := grpc.MethodFromServerStream(ss)
	if !ok {
		return status.Error(codes.Internal, "istiotest: proxy: no method")
	}
	reqs, err := readAll(ss)
	if err != nil {
		return err
	}
	md, _ := metadata.FromIncomingContext(ss.Context())
	retries := p.budget(md)
	ctx := metadata.NewOutgoingContext(ss.Context(), upstreamMD(md))
	tried := map[string]bool{}
	for attempt := 0; ; attempt++ {
		a, cc := p.pick(tried)
		tried[a] = true
		started, err := p.attempt(ctx, cc, method, reqs, ss)
		if started || attempt >= retries || !retriable(ctx, err) {
			return err
		}
	}
}

// retriable reports whether Istio's default retry_on covers err: the
// upstream answered (or the connection failed with) UNAVAILABLE, or
// CANCELLED while the downstream call was still live.
func retriable(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled:
		return true
	}
	return false
}

// attempt sends reqs upstream on cc and forwards the answer to ss. started
// reports whether anything was sent downstream, after which Envoy no longer
// retries.
func (p *Proxy) attempt(ctx context.Context, cc *grpc.ClientConn, method string, reqs []*frame, ss grpc.ServerStream) (started bool, err error) {
	p.attempts.Add()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	desc := &grpc.StreamDesc{ServerStreams: true, ClientStreams: true}
	up, err := cc.NewStream(ctx, desc, method, grpc.ForceCodec(rawCodec{}))
	if err != nil {
		return false, err
	}
	for _, r := range reqs {
		if err := up.SendMsg(r); err != nil {
			break // the error comes from RecvMsg
		}
	}
	if err := up.CloseSend(); err != nil {
		return false, err
	}
	for {
		f := &frame{}
		err := up.RecvMsg(f)
		if errors.Is(err, io.EOF) {
			ss.SetTrailer(up.Trailer())
			return started, nil
		}
		if err != nil {
			ss.SetTrailer(up.Trailer())
			return started, err
		}
		if !started {
			if h, herr := up.Header(); herr == nil {
				_ = ss.SendHeader(h)
			}
			started = true
		}
		if err := ss.SendMsg(f); err != nil {
			return true, err
		}
	}
}

// frame is one gRPC message, passed through undecoded.
type frame struct{ b []byte }

// rawCodec passes messages through as bytes. Its name is "proto" so the
// content type stays application/grpc+proto.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) { return v.(*frame).b, nil }

func (rawCodec) Unmarshal(data []byte, v any) error {
	v.(*frame).b = append([]byte(nil), data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }
