package omtest

import (
	"io"
	"log/slog"
	"time"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/telemetry"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Defaults of the timing settings. They follow Open-Match's code defaults,
// except the registration window: Open-Match's code default is 1 s and its
// Helm chart's 250 ms (HelmRegistrationInterval), which every FetchMatches
// call waits out. A test core defaults to 50 ms so that tests on the system
// clock stay fast; on a FakeClock the window lasts until the test advances
// the clock, whatever its length. examples/omcore, which a studio compares
// with a real install, uses the Helm values.
const (
	DefaultRegistrationInterval       = 50 * time.Millisecond
	DefaultProposalCollectionInterval = 10 * time.Second
	DefaultPendingReleaseTimeout      = time.Minute
	DefaultAssignedDeleteTimeout      = 10 * time.Minute
	DefaultQueryPageSize              = 1000
)

// The synchronizer windows of Open-Match's Helm chart (values.yaml of
// v1.8.1), which a cluster install runs with.
const (
	HelmRegistrationInterval       = 250 * time.Millisecond
	HelmProposalCollectionInterval = 20 * time.Second
)

// Dialer opens a client connection to target ("host:port"). The returned
// Closer, when not nil, is called when the core closes. The core calls a
// Dialer once per target and caches the result.
type Dialer func(target string) (grpc.ClientConnInterface, io.Closer, error)

// Config configures a core. Its zero value is a working core on a random
// loopback port, with Open-Match's default timeouts and default evaluator.
type Config struct {
	// Addr is where all three services listen together. Default "127.0.0.1:0".
	// It is ignored when any of FrontendAddr, BackendAddr or QueryAddr is set,
	// and with Replicas.
	Addr string
	// FrontendAddr, BackendAddr and QueryAddr, when any is set, give every
	// service its own listener, as in a real Open-Match install (frontend
	// 50504, backend 50505, query 50503). Unset ones use "127.0.0.1:0".
	// With Replicas they are where each service's first replica listens.
	FrontendAddr, BackendAddr, QueryAddr string
	// Replicas, when set, runs each service as several replicas over the
	// one state (see Replicas). Its Count must be at least 1.
	Replicas *Replicas

	// Clock measures every timeout. Default: the system clock.
	Clock Clock
	// Logger receives the core's diagnostics. Default: discarded.
	Logger *slog.Logger

	// RegistrationInterval is how long a synchronizer cycle accepts new
	// FetchMatches calls. Default DefaultRegistrationInterval.
	RegistrationInterval time.Duration
	// ProposalCollectionInterval bounds how long a cycle waits for its match
	// functions. Default DefaultProposalCollectionInterval.
	ProposalCollectionInterval time.Duration
	// PendingReleaseTimeout is how long tickets of a returned match stay
	// hidden from queries; backfills expire after 0.8 times this without an
	// acknowledgement. Default DefaultPendingReleaseTimeout.
	PendingReleaseTimeout time.Duration
	// AssignedDeleteTimeout is how long an assigned ticket is kept.
	// Default DefaultAssignedDeleteTimeout.
	AssignedDeleteTimeout time.Duration
	// QueryPageSize is the number of items per query stream message,
	// clamped to [10, 10000]. Default DefaultQueryPageSize.
	QueryPageSize int
	// TicketRecords makes the core keep a TicketRecord of every ticket it
	// stores (Server.TicketRecords).
	TicketRecords bool

	// MatchFunction, when set, runs in process for every FetchMatches call
	// instead of dialing FunctionConfig's host and port. It is the function
	// a match function server runs (omclient.NewMatchFunctionServer): the
	// core queries the profile's pools from its store, as QueryPools would,
	// and hands it the tickets by pool name. Proposals returned together with
	// an error are still evaluated, as in Open-Match.
	MatchFunction omclient.MatchFunc
	// MatchFunctionServer, when set (and MatchFunction is not), is called in
	// process through its generated Run method for every FetchMatches call.
	MatchFunctionServer pb.MatchFunctionServer
	// StreamEvaluator, when set, replaces the default evaluator in process
	// and runs from the start of every synchronizer cycle: it gets each
	// proposal as a match function sends it, and each id it accepts reaches
	// its caller at once, as with a gRPC evaluator that accepts as it reads.
	StreamEvaluator StreamEvaluateFunc
	// Evaluator, when set (and StreamEvaluator is not), replaces the default
	// evaluator in process. It decides over a whole cycle at once: it is
	// called with every proposal of the cycle once the cycle's input closes,
	// and returns the ids of the accepted matches. It must return when ctx
	// is done: the cycle waits for it.
	Evaluator omclient.EvaluateFunc
	// EvaluatorTarget, when set (and neither evaluator function is), is the
	// "host:port" of a gRPC Evaluator service used instead of the default
	// evaluator. The cycle opens its Evaluate stream when it starts and sends
	// each proposal as it arrives.
	EvaluatorTarget string
	// Dialer opens connections to remote match functions and evaluators.
	// Default: omclient.NewConn with the balancer.Headless strategy.
	Dialer Dialer
	// ServerOptions are added to the core's gRPC servers, after the
	// defaults (Open-Match's keepalive enforcement policy), so they can
	// override them.
	ServerOptions []grpc.ServerOption
	// MeterProvider, when set, records grpc-go's server metrics of the
	// core's services (grpc.server.*) and, through the default Dialer, the
	// client metrics and meshmatch's instruments of its connections to match
	// functions and evaluators. Default: none (no metrics).
	MeterProvider metric.MeterProvider
	// TracerProvider, when set, records grpc-go's spans the same way.
	TracerProvider trace.TracerProvider
	// ReplicaMeterProvider, when set, is asked once per gRPC server of the
	// core (each replica, see Replicas) for the meter provider its server
	// metrics go to, in place of MeterProvider; for example one that labels
	// every series with the replica's address, so that the spread of calls
	// over the replicas shows. A nil result falls back to MeterProvider.
	ReplicaMeterProvider func(ReplicaInfo) metric.MeterProvider
}

// Option configures a Server built by NewServer.
type Option interface {
	apply(*Config)
}

type optionFunc func(*Config)

func (f optionFunc) apply(c *Config) { f(c) }

// WithClock makes the core measure its timeouts with c, typically a FakeClock.
func WithClock(c Clock) Option { return optionFunc(func(cfg *Config) { cfg.Clock = c }) }

// WithLogger sends the core's diagnostics to l.
func WithLogger(l *slog.Logger) Option { return optionFunc(func(cfg *Config) { cfg.Logger = l }) }

// WithRegistrationInterval sets how long a synchronizer cycle accepts calls.
func WithRegistrationInterval(d time.Duration) Option {
	return optionFunc(func(cfg *Config) { cfg.RegistrationInterval = d })
}

// WithProposalCollectionInterval sets how long a cycle waits for its MMFs.
func WithProposalCollectionInterval(d time.Duration) Option {
	return optionFunc(func(cfg *Config) { cfg.ProposalCollectionInterval = d })
}

// WithPendingReleaseTimeout sets how long matched tickets stay pending.
func WithPendingReleaseTimeout(d time.Duration) Option {
	return optionFunc(func(cfg *Config) { cfg.PendingReleaseTimeout = d })
}

// WithAssignedDeleteTimeout sets how long assigned tickets are kept.
func WithAssignedDeleteTimeout(d time.Duration) Option {
	return optionFunc(func(cfg *Config) { cfg.AssignedDeleteTimeout = d })
}

// WithQueryPageSize sets the number of items per query stream message.
func WithQueryPageSize(n int) Option {
	return optionFunc(func(cfg *Config) { cfg.QueryPageSize = n })
}

// WithMatchFunction runs fn in process for every FetchMatches call.
func WithMatchFunction(fn omclient.MatchFunc) Option {
	return optionFunc(func(cfg *Config) { cfg.MatchFunction = fn })
}

// WithMatchFunctionServer calls srv.Run in process for every FetchMatches call.
func WithMatchFunctionServer(srv pb.MatchFunctionServer) Option {
	return optionFunc(func(cfg *Config) { cfg.MatchFunctionServer = srv })
}

// WithEvaluator replaces the default evaluator with fn, run in process.
func WithEvaluator(fn omclient.EvaluateFunc) Option {
	return optionFunc(func(cfg *Config) { cfg.Evaluator = fn })
}

// WithStreamEvaluator replaces the default evaluator with fn, run in process
// from the start of each cycle.
func WithStreamEvaluator(fn StreamEvaluateFunc) Option {
	return optionFunc(func(cfg *Config) { cfg.StreamEvaluator = fn })
}

// WithEvaluatorTarget replaces the default evaluator with the gRPC Evaluator
// service at target ("host:port"), dialed through the core's Dialer.
func WithEvaluatorTarget(target string) Option {
	return optionFunc(func(cfg *Config) { cfg.EvaluatorTarget = target })
}

// WithDialer makes the core open connections to remote match functions and
// evaluators with d.
func WithDialer(d Dialer) Option { return optionFunc(func(cfg *Config) { cfg.Dialer = d }) }

// WithServerOptions adds options to the core's gRPC servers.
func WithServerOptions(opts ...grpc.ServerOption) Option {
	return optionFunc(func(cfg *Config) { cfg.ServerOptions = append(cfg.ServerOptions, opts...) })
}

// WithMeterProvider sets Config.MeterProvider.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return optionFunc(func(cfg *Config) { cfg.MeterProvider = mp })
}

// WithReplicas runs each service as n replicas on consecutive loopback
// addresses (127.0.0.1, 127.0.0.2, …), one free port per service. Start
// refuses n < 1.
func WithReplicas(n int) Option {
	return optionFunc(func(cfg *Config) {
		if cfg.Replicas == nil {
			cfg.Replicas = &Replicas{}
		}
		cfg.Replicas.Count = n
	})
}

// WithReplicaMeterProvider sets Config.ReplicaMeterProvider.
func WithReplicaMeterProvider(fn func(ReplicaInfo) metric.MeterProvider) Option {
	return optionFunc(func(cfg *Config) { cfg.ReplicaMeterProvider = fn })
}

// WithTracerProvider sets Config.TracerProvider.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return optionFunc(func(cfg *Config) { cfg.TracerProvider = tp })
}

// providers are the telemetry providers cfg sets.
func (cfg Config) providers() telemetry.Providers {
	return telemetry.Providers{Meter: cfg.MeterProvider, Tracer: cfg.TracerProvider}
}

// withDefaults returns cfg with every unset field filled in.
func (cfg Config) withDefaults() Config {
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cfg.RegistrationInterval = orDefault(cfg.RegistrationInterval, DefaultRegistrationInterval)
	cfg.ProposalCollectionInterval = orDefault(cfg.ProposalCollectionInterval, DefaultProposalCollectionInterval)
	cfg.PendingReleaseTimeout = orDefault(cfg.PendingReleaseTimeout, DefaultPendingReleaseTimeout)
	cfg.AssignedDeleteTimeout = orDefault(cfg.AssignedDeleteTimeout, DefaultAssignedDeleteTimeout)
	switch {
	case cfg.QueryPageSize == 0:
		cfg.QueryPageSize = DefaultQueryPageSize
	case cfg.QueryPageSize < 10:
		cfg.QueryPageSize = 10
	case cfg.QueryPageSize > 10000:
		cfg.QueryPageSize = 10000
	}
	if cfg.Dialer == nil {
		cfg.Dialer = defaultDialer(cfg.providers())
	}
	return cfg
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}
