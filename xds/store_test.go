package xds_test

import (
	"context"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// storeBackend is an Open-Match frontend on loopback that, like the real
// one, stores what every call asks for (it counts the call) before it
// answers; answer then decides the reply. It stands for a backend that
// stored a ticket and then failed to say so.
type storeBackend struct {
	pb.UnimplementedFrontendServiceServer
	name   string
	addr   string
	answer func(b *storeBackend, method string) error

	mu    sync.Mutex
	calls map[string]int
	srv   *grpc.Server
	lis   *trackingListener
	done  chan struct{}
}

// startStoreBackends starts n store backends on 127.0.0.1 and stops them
// when t ends.
func startStoreBackends(t *testing.T, n int, answer func(b *storeBackend, method string) error) []*storeBackend {
	t.Helper()
	bs := make([]*storeBackend, n)
	for i := range bs {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		b := &storeBackend{name: "store-" + strconv.Itoa(i+1), addr: lis.Addr().String(), answer: answer,
			calls: map[string]int{}, lis: &trackingListener{Listener: lis}, done: make(chan struct{})}
		b.srv = grpc.NewServer(grpc.UnaryInterceptor(b.store))
		pb.RegisterFrontendServiceServer(b.srv, b)
		go func() {
			defer close(b.done)
			_ = b.srv.Serve(b.lis)
		}()
		t.Cleanup(b.stop)
		bs[i] = b
	}
	return bs
}

// store counts the call, then lets answer decide; GetTicket is answered
// with the backend's name when answer returns nil.
func (b *storeBackend) store(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	b.mu.Lock()
	b.calls[info.FullMethod]++
	b.mu.Unlock()
	if err := b.answer(b, info.FullMethod); err != nil {
		return nil, err
	}
	return h(ctx, req)
}

func (b *storeBackend) count(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[method]
}

// exit drops the backend's listener and connections at once, the way the
// network sees a process that exits: calls in flight get no answer.
func (b *storeBackend) exit() { b.lis.closeAll() }

func (b *storeBackend) stop() {
	b.srv.Stop()
	<-b.done
}

func (b *storeBackend) GetTicket(context.Context, *pb.GetTicketRequest) (*pb.Ticket, error) {
	return &pb.Ticket{Id: b.name}, nil
}

func (b *storeBackend) CreateTicket(context.Context, *pb.CreateTicketRequest) (*pb.Ticket, error) {
	return &pb.Ticket{Id: b.name}, nil
}

func (b *storeBackend) CreateBackfill(context.Context, *pb.CreateBackfillRequest) (*pb.Backfill, error) {
	return &pb.Backfill{Id: b.name}, nil
}

func (b *storeBackend) UpdateBackfill(context.Context, *pb.UpdateBackfillRequest) (*pb.Backfill, error) {
	return &pb.Backfill{Id: b.name}, nil
}

func (b *storeBackend) AcknowledgeBackfill(context.Context, *pb.AcknowledgeBackfillRequest) (*pb.AcknowledgeBackfillResponse, error) {
	return &pb.AcknowledgeBackfillResponse{Backfill: &pb.Backfill{Id: b.name}}, nil
}

// total returns how many calls of method all of bs stored.
func total(bs []*storeBackend, method string) int {
	n := 0
	for _, b := range bs {
		n += b.count(method)
	}
	return n
}

// unavailable answers every call but GetTicket with Unavailable, after
// storing it.
func unavailable(_ *storeBackend, method string) error {
	if method == pb.FrontendService_GetTicket_FullMethodName {
		return nil
	}
	return status.Error(codes.Unavailable, "stored, then lost the answer")
}

// trackingListener remembers the connections it accepted so that they can
// all be dropped at once.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns []net.Conn
	gone  atomic.Bool
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.gone.Load() {
		c.Close()
	} else {
		l.conns = append(l.conns, c)
	}
	return c, nil
}

func (l *trackingListener) closeAll() {
	l.gone.Store(true)
	l.Listener.Close()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.conns {
		c.Close()
	}
}
