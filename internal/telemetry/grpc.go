package telemetry

import (
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc"
	expotel "google.golang.org/grpc/experimental/opentelemetry"
	grpcotel "google.golang.org/grpc/stats/opentelemetry"
)

// Providers are the providers a user set; either may be nil.
type Providers struct {
	Meter  metric.MeterProvider
	Tracer trace.TracerProvider
}

// Enabled reports whether any provider is set.
func (p Providers) Enabled() bool { return p.Meter != nil || p.Tracer != nil }

// grpcOptions are grpc-go's OpenTelemetry options for p. Traces propagate
// as W3C trace context, set per connection, never globally.
func (p Providers) grpcOptions() grpcotel.Options {
	var o grpcotel.Options
	o.MetricsOptions.MeterProvider = p.Meter
	if p.Tracer != nil {
		o.TraceOptions = expotel.TraceOptions{TracerProvider: p.Tracer, TextMapPropagator: propagation.TraceContext{}}
	}
	return o
}

// DialOptions returns the dial options that make grpc-go record per-call
// metrics and spans with p; none when p is empty.
func (p Providers) DialOptions() []grpc.DialOption {
	if !p.Enabled() {
		return nil
	}
	return []grpc.DialOption{grpcotel.DialOption(p.grpcOptions())}
}

// ServerOptions is DialOptions for a server.
func (p Providers) ServerOptions() []grpc.ServerOption {
	if !p.Enabled() {
		return nil
	}
	return []grpc.ServerOption{grpcotel.ServerOption(p.grpcOptions())}
}
