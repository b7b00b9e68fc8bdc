package omtest

import (
	"context"
	"fmt"
	"net"
	"slices"
	"sync"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// replicaState is where a replica is in its life.
type replicaState int

const (
	replicaStopped replicaState = iota
	replicaRunning
	replicaDraining
)

// replica is one gRPC server of the core on one address: a replica of one
// service, or the one listener serving every service. Replicas share the
// core's state, as Open-Match's stateless frontend, backend and query pods
// share one Redis.
type replica struct {
	services []Service
	index    int
	addr     string              // where it listens; kept for restarts
	opts     []grpc.ServerOption // its servers' options, with its own meter
	handlers handlers
	wg       *sync.WaitGroup // the core's; joins the serve loops

	mu    sync.Mutex
	state replicaState
	gs    *grpc.Server
	hs    *health.Server
	lis   *trackingListener
	done  chan struct{} // closed when the current serve loop has returned
}

// handlers are the service implementations every replica serves.
type handlers struct {
	fe *frontend
	be *backend
	q  *query
}

// name is how errors name the replica: "frontend/1", or "core/0" for the
// listener that serves every service.
func (r *replica) name() string {
	if len(r.services) == 1 {
		return fmt.Sprintf("%s/%d", r.services[0], r.index)
	}
	return fmt.Sprintf("core/%d", r.index)
}

func (r *replica) serves(svc Service) bool { return slices.Contains(r.services, svc) }

// start serves on lis with a new gRPC server (a stopped grpc.Server cannot
// serve again). The caller holds r.mu or owns r exclusively.
func (r *replica) start(lis net.Listener, onErr func(error)) {
	gs := grpc.NewServer(r.opts...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	for _, svc := range r.services {
		switch svc {
		case ServiceFrontend:
			pb.RegisterFrontendServiceServer(gs, r.handlers.fe)
			hs.SetServingStatus(pb.FrontendService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		case ServiceBackend:
			pb.RegisterBackendServiceServer(gs, r.handlers.be)
			hs.SetServingStatus(pb.BackendService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		case ServiceQuery:
			pb.RegisterQueryServiceServer(gs, r.handlers.q)
			hs.SetServingStatus(pb.QueryService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
		}
	}
	tl := &trackingListener{Listener: lis, conns: make(map[*trackedConn]struct{})}
	done := make(chan struct{})
	r.gs, r.hs, r.lis, r.done, r.state = gs, hs, tl, done, replicaRunning
	r.wg.Go(func() {
		defer close(done)
		if err := gs.Serve(tl); err != nil {
			onErr(fmt.Errorf("omtest: serve replica %s on %s: %w", r.name(), r.addr, err))
		}
	})
}

// stop ends the replica at once, like a killed pod: the listener and every
// connection are closed with a reset (no GOAWAY), and the calls in flight
// fail on the client side. A draining replica is stopped too.
func (r *replica) stop() error {
	r.mu.Lock()
	defer r.mu.Unlock() // held until the server is gone, so a restart waits
	if r.state == replicaStopped {
		return fmt.Errorf("omtest: replica %s (%s) is already stopped", r.name(), r.addr)
	}
	r.state = replicaStopped
	r.hs.Shutdown()
	r.lis.reset()
	r.gs.Stop()
	<-r.done
	return nil
}

// drain stops the replica gracefully, like a pod being deleted: GOAWAY on
// every connection, no new calls, and the calls in flight may finish. When
// ctx ends first the replica is stopped at once, as Kubernetes does after
// the termination grace period.
func (r *replica) drain(ctx context.Context) error {
	r.mu.Lock()
	gs, hs, done, state := r.gs, r.hs, r.done, r.state
	switch state {
	case replicaStopped:
		r.mu.Unlock()
		return fmt.Errorf("omtest: replica %s (%s) is already stopped", r.name(), r.addr)
	case replicaDraining:
		r.mu.Unlock()
		return fmt.Errorf("omtest: replica %s (%s) is already draining", r.name(), r.addr)
	}
	r.state = replicaDraining
	r.mu.Unlock()
	hs.Shutdown()
	graceful := make(chan struct{})
	go func() { defer close(graceful); gs.GracefulStop() }()
	select {
	case <-graceful:
	case <-ctx.Done():
		gs.Stop()
		<-graceful
	}
	<-done
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.gs == gs { // not stopped and restarted meanwhile
		r.state = replicaStopped
	}
	return nil
}

// restart serves again on the replica's address. It fails, changing
// nothing, when the replica is running or the address is taken.
func (r *replica) restart(onErr func(error)) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch r.state {
	case replicaRunning:
		return fmt.Errorf("omtest: replica %s (%s) is running", r.name(), r.addr)
	case replicaDraining:
		return fmt.Errorf("omtest: replica %s (%s) is draining", r.name(), r.addr)
	}
	lis, err := net.Listen("tcp", r.addr)
	if err != nil {
		return fmt.Errorf("omtest: restart replica %s: listen on %s: %w", r.name(), r.addr, err)
	}
	r.start(lis, onErr)
	return nil
}

func (r *replica) info() ReplicaInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return ReplicaInfo{Services: slices.Clone(r.services), Index: r.index, Addr: r.addr, Running: r.state == replicaRunning}
}

// trackingListener remembers the connections it accepted, so that stop can
// reset them.
type trackingListener struct {
	net.Listener
	mu    sync.Mutex
	conns map[*trackedConn]struct{}
}

type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		c.l.mu.Unlock()
	})
	return c.Conn.Close()
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	tc := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[tc] = struct{}{}
	l.mu.Unlock()
	return tc, nil
}

// reset makes closing each open connection send a TCP reset, as the end of
// a killed process's sockets can, instead of an orderly close.
func (l *trackingListener) reset() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		if tcp, ok := c.Conn.(*net.TCPConn); ok {
			_ = tcp.SetLinger(0)
		}
	}
}
