package balancer_test

import (
	"context"
	"net"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/calltest"
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

// waitServedBy issues calls until one is served by backend name.
func waitServedBy(t *testing.T, ctx context.Context, conn grpc.ClientConnInterface, name string) {
	t.Helper()
	var last error
	for ctx.Err() == nil {
		got, err := calltest.GetTicket(ctx, conn)
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
