// Package xdstest is a fake istiod for tests: an xDS management server on
// loopback, built on go-control-plane's snapshot cache, that serves what
// istiod serves proxyless gRPC clients. It is shaped like
// net/http/httptest: NewServer starts it and registers its Close with the
// test.
//
// For every service set with SetEndpoints it serves what istiod's gRPC
// generator (pilot/pkg/networking/grpcgen) sends for a ServiceEntry with
// static endpoints, as the /debug/config_dump of a real istiod shows it:
//
//   - LDS: an API listener named "host:port" whose HttpConnectionManager
//     takes its routes over ADS and runs the fault and router filters;
//   - RDS: a route configuration named "outbound|port||host" with one
//     virtual host (the name and its short names as domains) and one route
//     on prefix "/" to the cluster, carrying Istio's default retry policy
//     (IstioRetryPolicy), which grpc-go applies to every call;
//   - CDS: the EDS cluster "outbound|port||host" with no lb_policy (grpc-go
//     uses round robin), over TLS with certificates from the client's
//     "default" certificate provider when SetTLS asks for it;
//   - EDS: the endpoints (weight 1, health UNKNOWN), in one locality
//     (DefaultLocality) weighted by their number.
//
// WithRetryPolicy changes the retry policy or turns it off; Resources returns what is served for a service, to compare with a
// real istiod. Every update is a new snapshot version, pushed to connected
// clients. Whatever node id a client sends, it gets the same configuration.
package xdstest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"

	corepb "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	clustersvc "github.com/envoyproxy/go-control-plane/envoy/service/cluster/v3"
	discoverypb "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	endpointsvc "github.com/envoyproxy/go-control-plane/envoy/service/endpoint/v3"
	listenersvc "github.com/envoyproxy/go-control-plane/envoy/service/listener/v3"
	routesvc "github.com/envoyproxy/go-control-plane/envoy/service/route/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/log"
	xdsserver "github.com/envoyproxy/go-control-plane/pkg/server/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/proto"
)

// Server is a fake istiod. Its methods are safe for concurrent use.
type Server struct {
	opts   options
	cache  cache.SnapshotCache
	xds    xdsserver.Server
	ctx    context.Context
	cancel context.CancelFunc

	mu       sync.Mutex
	addr     string
	grpc     *grpc.Server
	served   chan struct{} // closed when grpc's Serve returns
	closed   bool
	version  int
	services map[string]service
	tls      map[string]TLS // by listener name

	nodesMu sync.Mutex
	nodes   map[string]*corepb.Node
}

// NewServer starts a Server on 127.0.0.1 and closes it when t's test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := Start(opts...)
	if err != nil {
		t.Fatalf("xdstest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a Server on 127.0.0.1 with a free port. The caller must Close
// it.
func Start(opts ...Option) (*Server, error) {
	o := defaultOptions()
	for _, opt := range opts {
		opt.apply(&o)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("xdstest: listen: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{
		opts:     o,
		ctx:      ctx,
		cancel:   cancel,
		addr:     lis.Addr().String(),
		services: make(map[string]service),
		tls:      make(map[string]TLS),
		nodes:    make(map[string]*corepb.Node),
	}
	// Every node gets the same snapshot, so the cache keys them all alike.
	s.cache = cache.NewSnapshotCache(false, oneNode{}, log.LoggerFuncs{})
	s.xds = xdsserver.NewServer(ctx, s.cache, xdsserver.CallbackFuncs{StreamRequestFunc: s.onRequest})
	if err := s.publish(); err != nil {
		cancel()
		lis.Close()
		return nil, err
	}
	s.serve(lis)
	return s, nil
}

// Addr returns the "127.0.0.1:port" address the server listens on; it stays
// the same across Stop and Restart.
func (s *Server) Addr() string { return s.addr }

// Stop stops serving, dropping every client connection, to simulate an
// istiod outage. The configuration is kept for Restart.
func (s *Server) Stop() {
	s.mu.Lock()
	gs, served := s.grpc, s.served
	s.grpc = nil
	s.mu.Unlock()
	if gs != nil {
		gs.Stop()
		<-served
	}
}

// Restart serves again on the same address after Stop, with the latest
// configuration.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errors.New("xdstest: restart: server closed")
	}
	if s.grpc != nil {
		return nil
	}
	lis, err := net.Listen("tcp", s.addr)
	if err != nil {
		return fmt.Errorf("xdstest: restart: %w", err)
	}
	s.serveLocked(lis)
	return nil
}

// Close stops the server for good and waits for its goroutines. It is
// idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.Stop()
	s.cancel()
}

// Nodes returns a copy of each distinct node that has sent a request, keyed
// by node id.
func (s *Server) Nodes() map[string]*corepb.Node {
	s.nodesMu.Lock()
	defer s.nodesMu.Unlock()
	out := make(map[string]*corepb.Node, len(s.nodes))
	for id, n := range s.nodes {
		out[id] = proto.Clone(n).(*corepb.Node)
	}
	return out
}

func (s *Server) onRequest(_ int64, req *discoverypb.DiscoveryRequest) error {
	if n := req.GetNode(); n != nil {
		s.nodesMu.Lock()
		if _, ok := s.nodes[n.GetId()]; !ok {
			s.nodes[n.GetId()] = proto.Clone(n).(*corepb.Node)
		}
		s.nodesMu.Unlock()
	}
	return nil
}

func (s *Server) serve(lis net.Listener) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serveLocked(lis)
}

func (s *Server) serveLocked(lis net.Listener) {
	gs := grpc.NewServer(grpc.WaitForHandlers(true))
	discoverypb.RegisterAggregatedDiscoveryServiceServer(gs, s.xds)
	listenersvc.RegisterListenerDiscoveryServiceServer(gs, s.xds)
	routesvc.RegisterRouteDiscoveryServiceServer(gs, s.xds)
	clustersvc.RegisterClusterDiscoveryServiceServer(gs, s.xds)
	endpointsvc.RegisterEndpointDiscoveryServiceServer(gs, s.xds)
	served := make(chan struct{})
	s.grpc, s.served = gs, served
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
}

// oneNode keys every node alike, so one snapshot serves any node id.
type oneNode struct{}

// ID returns the single cache key.
func (oneNode) ID(*corepb.Node) string { return "xdstest" }
