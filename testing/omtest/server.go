package omtest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"

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

	mu       sync.Mutex // guards closed against restarts
	closed   bool
	replicas []*replica

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

// Start starts a core as cfg describes and returns once it is listening.
// Unlike NewServer it needs no testing.TB, so programs can embed a core; the
// caller must Close it.
func Start(cfg Config) (*Server, error) {
	cfg = cfg.withDefaults()
	plans, err := replicaPlans(cfg)
	if err != nil {
		return nil, err
	}
	listeners, err := listenPlans(plans)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: newStore(cfg), dial: newDialCache(cfg.Dialer), rest: newRESTClient()}
	s.base, s.cancel = context.WithCancel(context.Background())
	h := s.handlers()
	for i, p := range plans {
		r := s.newReplica(p, listeners[i].Addr().String(), h)
		r.start(listeners[i], s.serveFailed)
		s.replicas = append(s.replicas, r)
	}
	if err := s.connect(); err != nil {
		_ = s.Close()
		return nil, err
	}
	if n, ok := cfg.Clock.(advanceNotifier); ok {
		s.unsubscribe = n.subscribe(s.store.wake)
	}
	cfg.Logger.Info("omtest: core started", "frontend", s.ReplicaAddrs(ServiceFrontend),
		"backend", s.ReplicaAddrs(ServiceBackend), "query", s.ReplicaAddrs(ServiceQuery))
	return s, nil
}

func (s *Server) handlers() handlers {
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
	return handlers{fe: fe, be: be, q: q}
}

// newReplica builds the replica p describes, listening on addr, with its
// server options: the core's defaults, telemetry (its own meter when
// Config.ReplicaMeterProvider gives one) and Config.ServerOptions.
func (s *Server) newReplica(p replicaPlan, addr string, h handlers) *replica {
	r := &replica{services: p.services, index: p.index, addr: addr, handlers: h, wg: &s.wg}
	prov := s.cfg.providers()
	if s.cfg.ReplicaMeterProvider != nil {
		if mp := s.cfg.ReplicaMeterProvider(ReplicaInfo{Services: slices.Clone(p.services), Index: p.index, Addr: addr, Running: true}); mp != nil {
			prov.Meter = mp
		}
	}
	r.opts = serverOptions(newWireCodec(&s.store.wire), append(prov.ServerOptions(), s.cfg.ServerOptions...))
	return r
}

func (s *Server) serveFailed(err error) { s.cfg.Logger.Error(err.Error()) }

// connect makes the core's own client connections: one per service,
// balanced round robin over the service's replicas when it has several.
func (s *Server) connect() error {
	byAddr := map[string]*grpc.ClientConn{}
	for _, svc := range []Service{ServiceFrontend, ServiceBackend, ServiceQuery} {
		addrs := s.ReplicaAddrs(svc)
		var cc *grpc.ClientConn
		var err error
		if len(addrs) == 1 && byAddr[addrs[0]] != nil {
			cc = byAddr[addrs[0]]
		} else {
			if cc, err = dialReplicas(svc, addrs); err != nil {
				return err
			}
			s.conns = append(s.conns, cc)
			if len(addrs) == 1 {
				byAddr[addrs[0]] = cc
			}
		}
		switch svc {
		case ServiceFrontend:
			s.frontendAddr, s.frontendConn = addrs[0], cc
		case ServiceBackend:
			s.backendAddr, s.backendConn = addrs[0], cc
		case ServiceQuery:
			s.queryAddr, s.queryConn = addrs[0], cc
		}
	}
	s.addr, s.conn = s.frontendAddr, s.frontendConn
	return nil
}

// dialReplicas connects to addrs: directly for one address, else with
// round_robin over all of them through a resolver of the connection's own.
func dialReplicas(svc Service, addrs []string) (*grpc.ClientConn, error) {
	creds := grpc.WithTransportCredentials(insecure.NewCredentials())
	if len(addrs) == 1 {
		cc, err := grpc.NewClient(addrs[0], creds)
		if err != nil {
			return nil, fmt.Errorf("omtest: connect to %s: %w", addrs[0], err)
		}
		return cc, nil
	}
	r := manual.NewBuilderWithScheme("omtest")
	state := resolver.State{}
	for _, a := range addrs {
		state.Addresses = append(state.Addresses, resolver.Address{Addr: a})
	}
	r.InitialState(state)
	cc, err := grpc.NewClient(r.Scheme()+":///"+string(svc), creds, grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	if err != nil {
		return nil, fmt.Errorf("omtest: connect to %s replicas %v: %w", svc, addrs, err)
	}
	return cc, nil
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

// Conn returns a client connection to Addr; with several frontend replicas,
// one balanced round robin over all of them. The Server owns it and closes
// it on Close.
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
		s.mu.Lock()
		s.closed = true
		for _, r := range s.replicas {
			_ = r.stop() // an error only says it was stopped already
		}
		s.mu.Unlock()
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
