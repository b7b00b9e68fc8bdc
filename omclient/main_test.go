package omclient_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const testTimeout = 10 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// server is a real gRPC server on a loopback port that can be stopped and
// started again on the same address.
type server struct {
	t        testing.TB
	addr     string
	register func(*grpc.Server)

	mu sync.Mutex
	gs *grpc.Server
	wg sync.WaitGroup
}

func startServer(t testing.TB, register func(*grpc.Server)) *server {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	s := &server{t: t, addr: lis.Addr().String(), register: register}
	s.serve(lis)
	t.Cleanup(s.stop)
	return s
}

func (s *server) serve(lis net.Listener) {
	gs := grpc.NewServer()
	s.register(gs)
	s.mu.Lock()
	s.gs = gs
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		_ = gs.Serve(lis)
	}()
}

// stop kills the server: its listener closes and its connections drop.
func (s *server) stop() {
	s.mu.Lock()
	gs := s.gs
	s.gs = nil
	s.mu.Unlock()
	if gs != nil {
		gs.Stop()
	}
	s.wg.Wait()
}

// restart serves again on the same address.
func (s *server) restart() {
	s.t.Helper()
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatalf("listen again on %s: %v", s.addr, err)
	}
	s.serve(lis)
}

// dial returns a Conn to addr through the static strategy, closed at cleanup.
func dial(t testing.TB, addr string, opts ...omclient.Option) *omclient.Conn {
	t.Helper()
	opts = append([]omclient.Option{
		omclient.WithStrategy(&balancer.Static{Addrs: []string{addr}}),
		omclient.WithRetryPolicy(omclient.RetryPolicy{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}),
	}, opts...)
	c, err := omclient.NewConn(addr, opts...)
	if err != nil {
		t.Fatalf("NewConn(%q) = %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}
