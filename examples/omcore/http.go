package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/resolver"
	"google.golang.org/grpc/resolver/manual"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// httpConfig holds the listen addresses of the HTTP/JSON gateways, one per
// service like upstream's HTTP ports; an empty address turns one off.
type httpConfig struct {
	frontend, backend, query string
}

// register adds the -frontend-http, -backend-http and -query-http flags.
func (h *httpConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&h.frontend, "frontend-http", "127.0.0.1:51504", "FrontendService HTTP/JSON listen address (empty: off)")
	fs.StringVar(&h.backend, "backend-http", "127.0.0.1:51505", "BackendService HTTP/JSON listen address (empty: off)")
	fs.StringVar(&h.query, "query-http", "127.0.0.1:51503", "QueryService HTTP/JSON listen address (empty: off)")
}

// registerFunc registers one service's gateway handlers on a mux.
type registerFunc func(context.Context, *runtime.ServeMux, *grpc.ClientConn) error

// gatewaySpec is one gateway to start: its flag, listen address, the gRPC
// address it forwards to, and its handlers.
type gatewaySpec struct {
	flag, listen string
	targets      []string // the service's replicas
	register     registerFunc
}

func (h *httpConfig) specs(s *omtest.Server) []gatewaySpec {
	return []gatewaySpec{
		{flag: "frontend-http", listen: h.frontend, targets: s.ReplicaAddrs(omtest.ServiceFrontend), register: pb.RegisterFrontendServiceHandler},
		{flag: "backend-http", listen: h.backend, targets: s.ReplicaAddrs(omtest.ServiceBackend), register: pb.RegisterBackendServiceHandler},
		{flag: "query-http", listen: h.query, targets: s.ReplicaAddrs(omtest.ServiceQuery), register: pb.RegisterQueryServiceHandler},
	}
}

// gateways serves the core's API as HTTP/JSON through grpc-gateway, the way
// Open-Match's own HTTP ports do, each forwarding to the core's gRPC port.
type gateways struct {
	cancel  context.CancelFunc // ends the requests in flight (watch streams)
	servers []*http.Server
	addrs   map[string]string // listen address by flag name
	conns   []*grpc.ClientConn
	wg      sync.WaitGroup
	once    sync.Once
}

// start starts a gateway for every non-empty address in h and prints where
// each one listens. On error it has closed what it had started.
func (h *httpConfig) start(s *omtest.Server, stderr io.Writer) (*gateways, error) {
	base, cancel := context.WithCancel(context.Background())
	g := &gateways{cancel: cancel, addrs: map[string]string{}}
	var listening []string
	for _, spec := range h.specs(s) {
		if spec.listen == "" {
			continue
		}
		addr, err := g.serve(base, spec)
		if err != nil {
			g.Close()
			fmt.Fprintf(stderr, "omcore: %v\n", err)
			return nil, err
		}
		g.addrs[spec.flag] = addr.String()
		listening = append(listening, fmt.Sprintf("%s http://%s", strings.TrimSuffix(spec.flag, "-http"), addr))
	}
	if len(listening) > 0 {
		fmt.Fprintf(stderr, "omcore: HTTP/JSON %s\n", strings.Join(listening, ", "))
	}
	return g, nil
}

// serve listens on spec.listen and serves spec's handlers there; it returns
// the address it listens on.
func (g *gateways) serve(base context.Context, spec gatewaySpec) (net.Addr, error) {
	conn, err := dialReplicas(spec.targets)
	if err != nil {
		return nil, fmt.Errorf("-%s: dial %v: %w", spec.flag, spec.targets, err)
	}
	g.conns = append(g.conns, conn)
	mux := newMux(conn)
	if err := spec.register(base, mux, conn); err != nil {
		return nil, fmt.Errorf("-%s: %w", spec.flag, err)
	}
	lis, err := net.Listen("tcp", spec.listen)
	if err != nil {
		return nil, fmt.Errorf("-%s: %w", spec.flag, err)
	}
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return base },
	}
	g.servers = append(g.servers, srv)
	g.wg.Go(func() { _ = srv.Serve(lis) })
	return lis.Addr(), nil
}

// dialReplicas connects to a service's replicas, round robin over them
// through a resolver of the connection's own.
func dialReplicas(addrs []string) (*grpc.ClientConn, error) {
	creds := grpc.WithTransportCredentials(insecure.NewCredentials())
	if len(addrs) == 1 {
		return grpc.NewClient("passthrough:///"+addrs[0], creds)
	}
	r := manual.NewBuilderWithScheme("omcore")
	var st resolver.State
	for _, a := range addrs {
		st.Addresses = append(st.Addresses, resolver.Address{Addr: a})
	}
	r.InitialState(st)
	return grpc.NewClient(r.Scheme()+":///replicas", creds, grpc.WithResolvers(r),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
}

// newMux returns a gateway mux that marshals like upstream's
// (internal/rpc/insecure.go): proto field names, unpopulated fields left
// out. Unlike grpc-gateway's default it rejects unknown JSON fields with
// 400 instead of dropping them silently. GET /healthz asks the core's gRPC
// health service.
func newMux(conn *grpc.ClientConn) *runtime.ServeMux {
	json := &runtime.JSONPb{
		MarshalOptions:   protojson.MarshalOptions{UseProtoNames: true},
		UnmarshalOptions: protojson.UnmarshalOptions{},
	}
	return runtime.NewServeMux(
		runtime.WithMarshalerOption(runtime.MIMEWildcard, &runtime.HTTPBodyMarshaler{Marshaler: json}),
		runtime.WithHealthzEndpoint(healthpb.NewHealthClient(conn)),
	)
}

// Close ends the requests in flight, stops the servers and closes the
// connections to the core. It is idempotent.
func (g *gateways) Close() error {
	var err error
	g.once.Do(func() {
		g.cancel()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range g.servers {
			if e := srv.Shutdown(ctx); e != nil {
				err = errors.Join(err, srv.Close())
			}
		}
		g.wg.Wait()
		for _, c := range g.conns {
			err = errors.Join(err, c.Close())
		}
	})
	return err
}
