package omclient

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"

	"github.com/meshmatch/meshmatch/internal/telemetry"
)

// ServerOption configures a Server.
type ServerOption interface {
	applyServer(*serverConfig)
}

type serverOptionFunc func(*serverConfig)

func (f serverOptionFunc) applyServer(c *serverConfig) { f(c) }

type serverConfig struct {
	grpcOpts  []grpc.ServerOption
	logger    *slog.Logger
	err       error // a bad option; Serve returns it
	providers telemetry.Providers
}

// WithServerOptions adds grpc.ServerOptions (credentials, interceptors),
// applied after meshmatch's keepalive enforcement.
func WithServerOptions(opts ...grpc.ServerOption) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.grpcOpts = append(c.grpcOpts, opts...) })
}

// WithServerLogger sets the logger for errors the server's handlers return.
// The default discards everything.
func WithServerLogger(l *slog.Logger) ServerOption {
	return serverOptionFunc(func(c *serverConfig) { c.logger = l })
}

// KeepaliveEnforcement returns the policy Open-Match's own servers enforce:
// clients may ping at most every 10 s, also without active streams.
func KeepaliveEnforcement() keepalive.EnforcementPolicy {
	return keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}
}

// Server is a gRPC server for a service users implement (a match function or
// an evaluator), with the standard gRPC health service and Open-Match's
// keepalive policy.
type Server struct {
	gs     *grpc.Server
	health *health.Server
	logger *slog.Logger
	err    error
}

func newServer(opts []ServerOption) *Server {
	var cfg serverConfig
	for i, o := range opts {
		if o == nil {
			cfg.err = fmt.Errorf("omclient: server option %d is nil", i)
			continue
		}
		o.applyServer(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = slog.New(slog.DiscardHandler)
	}
	gopts := append([]grpc.ServerOption{grpc.KeepaliveEnforcementPolicy(KeepaliveEnforcement())}, cfg.providers.ServerOptions()...)
	gopts = append(gopts, cfg.grpcOpts...)
	s := &Server{gs: grpc.NewServer(gopts...), health: health.NewServer(), logger: cfg.logger, err: cfg.err}
	healthpb.RegisterHealthServer(s.gs, s.health)
	return s
}

// GRPCServer returns the underlying server, to register more services on it
// before Serve.
func (s *Server) GRPCServer() *grpc.Server { return s.gs }

// Serve accepts connections on lis until Shutdown. It reports the service as
// SERVING on the health service while it runs. It closes lis and returns at
// once with an error when the server was built with a nil ServerOption.
func (s *Server) Serve(lis net.Listener) error {
	if s.err != nil {
		lis.Close()
		return s.err
	}
	s.health.Resume()
	return s.gs.Serve(lis)
}

// Shutdown reports NOT_SERVING, stops accepting connections and waits for the
// calls in flight to finish. If ctx is done first, the remaining calls are
// cancelled and ctx's error is returned. Shutdown is safe to call more than once.
func (s *Server) Shutdown(ctx context.Context) error {
	s.health.Shutdown()
	done := make(chan struct{})
	go func() {
		s.gs.GracefulStop()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		s.gs.Stop()
		<-done
		return ctx.Err()
	}
}
