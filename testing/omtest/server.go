package omtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/reflection"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Server is a running in-memory Open-Match core. Its methods are safe for
// concurrent use.
type Server struct {
	cfg    Config
	store  *store
	base   context.Context
	cancel context.CancelFunc
	dial   *dialCache
	rest   *restClient
	wg     sync.WaitGroup // serve loops and synchronizer cycles

	unsubscribe func()
	servers     []*grpc.Server
	healths     []*health.Server

	addr, frontendAddr, backendAddr, queryAddr string
	conns                                      []*grpc.ClientConn
	conn, frontendConn, backendConn, queryConn *grpc.ClientConn

	closeOnce sync.Once
	closeErr  error
}

// NewServer starts a core on a random loopback port and closes it when the
// test ends. It fails the test if the core cannot start.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var cfg Config
	for _, o := range opts {
		o.apply(&cfg)
	}
	s, err := Start(cfg)
	if err != nil {
		t.Fatalf("omtest.NewServer: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// listenPlan is one listener and the services it serves.
type listenPlan struct {
	addr     string
	services []string
}

const (
	svcFrontend = "frontend"
	svcBackend  = "backend"
	svcQuery    = "query"
)

func plans(cfg Config) []listenPlan {
	orLoopback := func(a string) string {
		if a == "" {
			return "127.0.0.1:0"
		}
		return a
	}
	if cfg.FrontendAddr == "" && cfg.BackendAddr == "" && cfg.QueryAddr == "" {
		return []listenPlan{{addr: orLoopback(cfg.Addr), services: []string{svcFrontend, svcBackend, svcQuery}}}
	}
	return []listenPlan{
		{addr: orLoopback(cfg.FrontendAddr), services: []string{svcFrontend}},
		{addr: orLoopback(cfg.BackendAddr), services: []string{svcBackend}},
		{addr: orLoopback(cfg.QueryAddr), services: []string{svcQuery}},
	}
}

// Start starts a core as cfg describes and returns once it is listening.
// Unlike NewServer it needs no testing.TB, so programs can embed a core; the
// caller must Close it.
func Start(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	ps := plans(cfg)
	listeners := make([]net.Listener, 0, len(ps))
	for _, p := range ps {
		lis, err := net.Listen("tcp", p.addr)
		if err != nil {
			for _, l := range listeners {
				_ = l.Close()
			}
			return nil, fmt.Errorf("omtest: listen on %s: %w", p.addr, err)
		}
		listeners = append(listeners, lis)
	}

	s := &Server{cfg: cfg, store: newStore(cfg), dial: newDialCache(cfg.Dialer), rest: newRESTClient()}
	s.base, s.cancel = context.WithCancel(context.Background())
	fe, be, q := s.services()
	for i, p := range ps {
		if err := s.serve(listeners[i], p.services, fe, be, q); err != nil {
			for _, l := range listeners[i:] {
				_ = l.Close()
			}
			_ = s.Close()
			return nil, err
		}
	}
	if n, ok := cfg.Clock.(advanceNotifier); ok {
		s.unsubscribe = n.subscribe(s.store.wake)
	}
	cfg.Logger.Info("omtest: core started",
		"frontend", s.frontendAddr, "backend", s.backendAddr, "query", s.queryAddr)
	return s, nil
}

func (s *Server) services() (*frontend, *backend, *query) {
	fe := &frontend{store: s.store, done: s.base.Done()}
	syn := &synchronizer{
		cfg: s.cfg, store: s.store, base: s.base, wg: &s.wg,
		mmf: &mmfRunner{
			fn: s.cfg.MatchFunction, server: s.cfg.MatchFunctionServer,
			store: s.store, dial: s.dial, rest: s.rest,
		},
		eval: newEvaluator(s.cfg, s.dial),
	}
	be := &backend{store: s.store, sync: syn}
	q := &query{store: s.store, pageSize: s.cfg.QueryPageSize}
	return fe, be, q
}

// serve starts a gRPC server on lis for the named services, with health and
// reflection, and a client connection to it.
func (s *Server) serve(lis net.Listener, services []string, fe *frontend, be *backend, q *query) error {
	gs := grpc.NewServer(serverOptions(newWireCodec(&s.store.wire), append(s.cfg.providers().ServerOptions(), s.cfg.ServerOptions...))...)
	hs := health.NewServer()
	healthpb.RegisterHealthServer(gs, hs)
	reflection.Register(gs)
	addr := lis.Addr().String()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("omtest: connect to %s: %w", addr, err)
	}
	s.conns = append(s.conns, conn)
	if s.conn == nil {
		s.addr, s.conn = addr, conn
	}
	for _, svc := range services {
		switch svc {
		case svcFrontend:
			pb.RegisterFrontendServiceServer(gs, fe)
			hs.SetServingStatus(pb.FrontendService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
			s.frontendAddr, s.frontendConn = addr, conn
		case svcBackend:
			pb.RegisterBackendServiceServer(gs, be)
			hs.SetServingStatus(pb.BackendService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
			s.backendAddr, s.backendConn = addr, conn
		case svcQuery:
			pb.RegisterQueryServiceServer(gs, q)
			hs.SetServingStatus(pb.QueryService_ServiceDesc.ServiceName, healthpb.HealthCheckResponse_SERVING)
			s.queryAddr, s.queryConn = addr, conn
		}
	}
	s.servers = append(s.servers, gs)
	s.healths = append(s.healths, hs)
	s.wg.Go(func() {
		if err := gs.Serve(lis); err != nil {
			s.cfg.Logger.Error("omtest: serve", "addr", addr, "err", err)
		}
	})
	return nil
}

// Addr returns the address serving all three services, or, when each
// service has its own listener, the frontend's address.
func (s *Server) Addr() string { return s.addr }

// FrontendAddr returns the address of the FrontendService.
func (s *Server) FrontendAddr() string { return s.frontendAddr }

// BackendAddr returns the address of the BackendService.
func (s *Server) BackendAddr() string { return s.backendAddr }

// QueryAddr returns the address of the QueryService.
func (s *Server) QueryAddr() string { return s.queryAddr }

// Conn returns a client connection to Addr. The Server owns it and closes it
// on Close.
func (s *Server) Conn() *grpc.ClientConn { return s.conn }

// Frontend returns a FrontendService client connected to the core.
func (s *Server) Frontend() pb.FrontendServiceClient {
	return pb.NewFrontendServiceClient(s.frontendConn)
}

// Backend returns a BackendService client connected to the core.
func (s *Server) Backend() pb.BackendServiceClient {
	return pb.NewBackendServiceClient(s.backendConn)
}

// Query returns a QueryService client connected to the core.
func (s *Server) Query() pb.QueryServiceClient { return pb.NewQueryServiceClient(s.queryConn) }

// Reset forgets every ticket, backfill and pending ticket, like flushing
// Open-Match's Redis between tests, so that one core can serve many tests.
// Watches of forgotten tickets end with NotFound. FetchMatches calls already
// running finish their cycle; what they make pending after Reset stays.
func (s *Server) Reset() { s.store.reset() }

// Close stops the core: it ends running calls, waits for every handler and
// background goroutine, and closes the connections the core opened. It is
// safe to call more than once; later calls return the first result.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		s.cancel()
		if s.unsubscribe != nil {
			s.unsubscribe()
		}
		for _, hs := range s.healths {
			hs.Shutdown()
		}
		for _, gs := range s.servers {
			gs.Stop()
		}
		s.wg.Wait()
		var errs []error
		for _, c := range s.conns {
			errs = append(errs, c.Close())
		}
		errs = append(errs, s.dial.close())
		s.rest.close()
		s.closeErr = errors.Join(errs...)
	})
	return s.closeErr
}
