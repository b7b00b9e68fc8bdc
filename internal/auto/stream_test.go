package auto_test

import (
	"context"
	"io"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/internal/auto"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// TestStreamEndReleasesRetiredStrategy: a stream that grpc-go has finished
// no longer holds the strategy it ran on, whichever way it ended, so that
// the strategy is closed once calls move away from it. Each case opens one
// stream with context.Background() on b (a is down), ends it, then brings
// a back and waits for b to be closed after the move up.
func TestStreamEndReleasesRetiredStrategy(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []grpc.DialOption // b's dial options
		end  func(t *testing.T, conn *auto.Conn)
	}{
		{name: "client-streaming CloseAndRecv", end: func(t *testing.T, conn *auto.Conn) {
			s := newTicketStream(t, conn, &grpc.StreamDesc{ClientStreams: true})
			if err := s.CloseSend(); err != nil {
				t.Fatalf("CloseSend() = %v", err)
			}
			var tk pb.Ticket
			if err := s.RecvMsg(&tk); err != nil {
				t.Fatalf("RecvMsg() = %v, want nil", err)
			}
		}},
		{name: "unary-shaped stream RecvMsg nil", end: func(t *testing.T, conn *auto.Conn) {
			s := newTicketStream(t, conn, &grpc.StreamDesc{})
			var tk pb.Ticket
			if err := s.RecvMsg(&tk); err != nil {
				t.Fatalf("RecvMsg() = %v, want nil", err)
			}
		}},
		{name: "server-streaming RecvMsg until EOF", end: func(t *testing.T, conn *auto.Conn) {
			s := newTicketStream(t, conn, &grpc.StreamDesc{ServerStreams: true})
			if err := s.CloseSend(); err != nil {
				t.Fatalf("CloseSend() = %v", err)
			}
			var tk pb.Ticket
			if err := s.RecvMsg(&tk); err != nil {
				t.Fatalf("first RecvMsg() = %v, want nil", err)
			}
			if err := s.RecvMsg(&tk); err != io.EOF {
				t.Fatalf("second RecvMsg() = %v, want io.EOF", err)
			}
		}},
		{name: "SendMsg error", end: func(t *testing.T, conn *auto.Conn) {
			s, err := conn.NewStream(context.Background(), &grpc.StreamDesc{ClientStreams: true}, pb.FrontendService_GetTicket_FullMethodName, grpc.MaxCallSendMsgSize(1))
			if err != nil {
				t.Fatalf("NewStream() = %v", err)
			}
			if err := s.SendMsg(&pb.GetTicketRequest{TicketId: "t"}); status.Code(err) != codes.ResourceExhausted {
				t.Fatalf("SendMsg() = %v, want ResourceExhausted", err)
			}
		}},
		{name: "Header error", opts: []grpc.DialOption{grpc.WithStreamInterceptor(failHeader)}, end: func(t *testing.T, conn *auto.Conn) {
			s := newTicketStream(t, conn, &grpc.StreamDesc{ClientStreams: true})
			if _, err := s.Header(); status.Code(err) != codes.Internal {
				t.Fatalf("Header() = %v, want Internal", err)
			}
		}},
		{name: "context canceled", end: func(t *testing.T, conn *auto.Conn) {
			ctx, cancel := context.WithCancel(context.Background())
			if _, err := conn.NewStream(ctx, &grpc.StreamDesc{ServerStreams: true}, pb.FrontendService_GetTicket_FullMethodName); err != nil {
				t.Fatalf("NewStream() = %v", err)
			}
			cancel()
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			bs := balancertest.StartBackends(t, 2)
			bs[0].Stop()
			a, b := &backend{name: "a", b: bs[0]}, &backend{name: "b", b: bs[1], opts: tc.opts}
			var decs decisions
			conn := newConn(t, &decs, 20*time.Millisecond, 20*time.Millisecond, a, b)
			from := decs.wait(t, ctx, 0, auto.KindFallback, "b")

			tc.end(t, conn)

			bs[0].Restart(t)
			decs.wait(t, ctx, from+1, auto.KindMoveUp, "a")
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			if got, err := b.closes.Wait(wctx, 1); err != nil {
				t.Errorf("b closed %d times within 5s of the move up to a, want 1: %v", got, err)
			}
		})
	}
}

// newTicketStream opens a GetTicket stream shaped by desc on conn, with
// context.Background(), and sends its request.
func newTicketStream(t *testing.T, conn *auto.Conn, desc *grpc.StreamDesc) grpc.ClientStream {
	t.Helper()
	s, err := conn.NewStream(context.Background(), desc, pb.FrontendService_GetTicket_FullMethodName)
	if err != nil {
		t.Fatalf("NewStream() = %v", err)
	}
	if err := s.SendMsg(&pb.GetTicketRequest{TicketId: "t"}); err != nil {
		t.Fatalf("SendMsg() = %v", err)
	}
	return s
}

// failHeader is a stream interceptor whose streams end when Header is
// called, and say so with an error, as interceptors may.
func failHeader(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	ctx, cancel := context.WithCancel(ctx)
	s, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil {
		cancel()
		return nil, err
	}
	return &headerFails{ClientStream: s, cancel: cancel}, nil
}

type headerFails struct {
	grpc.ClientStream
	cancel context.CancelFunc
}

func (s *headerFails) Header() (metadata.MD, error) {
	s.cancel()
	return nil, status.Error(codes.Internal, "test: header rejected")
}
