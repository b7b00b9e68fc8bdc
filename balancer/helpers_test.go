package balancer_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// shortContext bounds calls that are expected to fail or block.
func shortContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	t.Cleanup(cancel)
	return ctx
}

// fastReconnect makes connections retry a dead backend quickly.
var fastReconnect = grpc.WithConnectParams(grpc.ConnectParams{
	Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 200 * time.Millisecond},
	MinConnectTimeout: time.Second,
})

func dial(t *testing.T, s balancer.Strategy, addr string, opts ...grpc.DialOption) balancer.Conn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), fastReconnect}, opts...)
	conn, err := s.Dial(addr, opts...)
	if err != nil {
		t.Fatalf("%s.Dial(%q) = %v", s.Name(), addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// getTicket returns the name of the backend that served the call.
func getTicket(ctx context.Context, conn grpc.ClientConnInterface, opts ...grpc.CallOption) (string, error) {
	tk, err := pb.NewFrontendServiceClient(conn).GetTicket(ctx, &pb.GetTicketRequest{TicketId: "t"}, opts...)
	return tk.GetId(), err
}

// waitServedBy issues calls until one is served by backend name.
func waitServedBy(t *testing.T, ctx context.Context, conn grpc.ClientConnInterface, name string) {
	t.Helper()
	var last error
	for ctx.Err() == nil {
		got, err := getTicket(ctx, conn)
		if err == nil && got == name {
			return
		}
		if err != nil {
			last = err
		}
	}
	t.Fatalf("no call served by %s before the deadline; last error %v", name, last)
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}
