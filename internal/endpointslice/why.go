package endpointslice

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Why holds the reason a connection has no endpoints, so that a failed
// call says it: once round_robin has had endpoints, the resolver's errors
// no longer reach the calls (it answers "no children to pick from").
type Why struct{ reason atomic.Pointer[string] }

func (w *Why) set(reason string) { w.reason.Store(&reason) }

// Reason returns why the connection has no endpoints, or "" when it has.
func (w *Why) Reason() string {
	if p := w.reason.Load(); p != nil {
		return *p
	}
	return ""
}

// wrap adds the reason to an Unavailable error while there is one.
func (w *Why) wrap(err error) error {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unavailable {
		return err
	}
	r := w.Reason()
	if r == "" {
		return err
	}
	return status.Error(codes.Unavailable, r+": "+st.Message())
}

// DialOptions returns the interceptors that add the reason to failed calls.
func (w *Why) DialOptions() []grpc.DialOption {
	return []grpc.DialOption{
		grpc.WithChainUnaryInterceptor(func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
			return w.wrap(invoker(ctx, method, req, reply, cc, opts...))
		}),
		grpc.WithChainStreamInterceptor(func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
			s, err := streamer(ctx, desc, cc, method, opts...)
			return s, w.wrap(err)
		}),
	}
}
