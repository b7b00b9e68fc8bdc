package omclient

import (
	"context"

	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/telemetry"
)

// TelemetryOption is an option that applies to both a Conn (as an Option)
// and a Server (as a ServerOption).
type TelemetryOption interface {
	Option
	ServerOption
}

type telemetryOption func(*telemetry.Providers)

func (f telemetryOption) apply(c *config)             { f(&c.providers) }
func (f telemetryOption) applyServer(c *serverConfig) { f(&c.providers) }

// WithMeterProvider turns metrics on: grpc-go's per-call metrics
// (grpc.client.* on a Conn, grpc.server.* on a Server, from
// google.golang.org/grpc/stats/opentelemetry) and, on a Conn, meshmatch's
// own instruments (meshmatch.strategy.*, meshmatch.rpc.retries,
// meshmatch.query.restarts, meshmatch.watch.resumes; see the README). Off by
// default; meshmatch never uses or sets the global provider.
func WithMeterProvider(mp metric.MeterProvider) TelemetryOption {
	return telemetryOption(func(p *telemetry.Providers) { p.Meter = mp })
}

// WithTracerProvider turns grpc-go's per-call spans on, propagated as W3C
// trace context. Off by default; meshmatch never uses or sets the global
// provider.
func WithTracerProvider(tp trace.TracerProvider) TelemetryOption {
	return telemetryOption(func(p *telemetry.Providers) { p.Tracer = tp })
}

// observed returns s with its decisions counted by tel when s is an Auto.
// The caller's Auto is copied, never changed; its own OnDecision still runs.
func observed(s balancer.Strategy, tel *telemetry.Client) (balancer.Strategy, bool) {
	var a balancer.Auto
	switch v := s.(type) {
	case balancer.Auto:
		a = v
	case *balancer.Auto:
		if v == nil {
			return s, false
		}
		a = *v
	default:
		return s, false
	}
	prev := a.OnDecision
	a.OnDecision = func(d balancer.Decision) {
		if prev != nil {
			prev(d)
		}
		tel.Decision(d.Strategy, d.Kind)
	}
	return a, true
}

// retried marks the context of an attempt after the first, so that Invoke
// and NewStream count it.
func retried(ctx context.Context) context.Context { return telemetry.MarkRetry(ctx) }
