package balancertest

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/meshmatch/meshmatch/internal/counter"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Backend is a real gRPC server on a loopback address that counts the calls
// it serves. It serves pb.FrontendService, whose GetTicket returns a ticket
// whose Id is the backend's Name, and the gRPC health service.
type Backend struct {
	// Name identifies the backend; GetTicket answers with Ticket.Id = Name.
	Name string
	// Addr is the backend's "host:port".
	Addr string

	calls    atomic.Int64
	accepted counter.Counter
	closed   counter.Counter

	mu  sync.Mutex
	srv *grpc.Server
	wg  sync.WaitGroup
}

// Calls returns how many Open-Match calls the backend has served. Health
// checks are not counted.
func (b *Backend) Calls() int64 { return b.calls.Load() }

// WaitConnsClosed waits until every connection the backend accepted so far
// has been closed, or ctx is done. It reports how many were still open.
func (b *Backend) WaitConnsClosed(ctx context.Context) error {
	n := b.accepted.Load()
	if got, err := b.closed.Wait(ctx, n); err != nil {
		return fmt.Errorf("balancertest: %s: %d of %d connections still open: %w", b.Name, n-got, n, err)
	}
	return nil
}

// Stop stops the backend hard: its listener is closed and every connection is
// dropped. Calls in flight fail. Stop is idempotent.
func (b *Backend) Stop() {
	b.mu.Lock()
	srv := b.srv
	b.srv = nil
	b.mu.Unlock()
	if srv != nil {
		srv.Stop()
	}
	b.wg.Wait()
}

// Restart serves again on the same Addr after Stop. It fails t if the address
// cannot be bound again.
func (b *Backend) Restart(t testing.TB) {
	t.Helper()
	b.Stop()
	lis, err := net.Listen("tcp", b.Addr)
	if err != nil {
		t.Fatalf("balancertest: restart %s: %v", b.Name, err)
	}
	b.serve(lis)
}

func (b *Backend) serve(lis net.Listener) {
	srv := grpc.NewServer(grpc.UnaryInterceptor(b.countUnary), grpc.StreamInterceptor(b.countStream))
	pb.RegisterFrontendServiceServer(srv, frontend{b: b})
	hs := health.NewServer()
	hs.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	b.mu.Lock()
	b.srv = srv
	b.mu.Unlock()
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		_ = srv.Serve(&countingListener{Listener: lis, b: b})
	}()
}

func (b *Backend) countUnary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if info.FullMethod != healthpb.Health_Check_FullMethodName {
		b.calls.Add(1)
	}
	return h(ctx, req)
}

func (b *Backend) countStream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if info.FullMethod != healthpb.Health_Watch_FullMethodName {
		b.calls.Add(1)
	}
	return h(srv, ss)
}

type frontend struct {
	pb.UnimplementedFrontendServiceServer
	b *Backend
}

func (f frontend) GetTicket(context.Context, *pb.GetTicketRequest) (*pb.Ticket, error) {
	return &pb.Ticket{Id: f.b.Name}, nil
}

// StartBackends starts n backends on 127.0.0.1, 127.0.0.2, … 127.0.0.n, all on
// one port, so that a DNS name listing their IPs plus that port reaches them
// all. Backend i is named "backend-i" (counting from 1). The backends are
// stopped on t.Cleanup.
func StartBackends(t testing.TB, n int) []*Backend {
	t.Helper()
	if n < 1 || n > 250 {
		t.Fatalf("balancertest: StartBackends(%d): n must be in [1, 250]", n)
	}
	hosts := make([]string, n)
	for i := range hosts {
		hosts[i] = fmt.Sprintf("127.0.0.%d", i+1)
	}
	return StartBackendsAt(t, hosts)
}

// StartBackendsAt starts one backend on each of hosts (IP addresses of
// this machine), all on one port, named "backend-1", "backend-2", … in
// order. The backends are stopped on t.Cleanup.
func StartBackendsAt(t testing.TB, hosts []string) []*Backend {
	t.Helper()
	if len(hosts) == 0 {
		t.Fatalf("balancertest: StartBackendsAt: no hosts")
	}
	lis, err := listenAll(hosts)
	if err != nil {
		t.Fatalf("balancertest: %v", err)
	}
	backends := make([]*Backend, len(hosts))
	for i, l := range lis {
		b := &Backend{Name: "backend-" + strconv.Itoa(i+1), Addr: l.Addr().String()}
		b.serve(l)
		backends[i] = b
		t.Cleanup(b.Stop)
	}
	return backends
}

// listenAll binds every host on one port, trying a few ports.
func listenAll(hosts []string) ([]net.Listener, error) {
	var lastErr error
	for range 20 {
		first, err := net.Listen("tcp", net.JoinHostPort(hosts[0], "0"))
		if err != nil {
			return nil, fmt.Errorf("listen on %s: %w", hosts[0], err)
		}
		port := first.Addr().(*net.TCPAddr).Port
		lis := []net.Listener{first}
		for _, h := range hosts[1:] {
			l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
			if err != nil {
				lastErr = err
				break
			}
			lis = append(lis, l)
		}
		if len(lis) == len(hosts) {
			return lis, nil
		}
		for _, l := range lis {
			l.Close()
		}
	}
	return nil, fmt.Errorf("no port free on all of %v: %w", hosts, lastErr)
}

// countingListener counts the connections it accepts and their closes.
type countingListener struct {
	net.Listener
	b *Backend
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.b.accepted.Add()
	return &countingConn{Conn: c, closed: &l.b.closed}, nil
}

type countingConn struct {
	net.Conn
	once   sync.Once
	closed *counter.Counter
}

func (c *countingConn) Close() error {
	c.once.Do(c.closed.Add)
	return c.Conn.Close()
}
