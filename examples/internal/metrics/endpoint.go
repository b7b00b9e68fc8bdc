package metrics

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/meshmatch/meshmatch/omclient"
)

// Endpoint is a command's metrics: off (the zero value) or a provider
// served on -metrics-addr.
type Endpoint struct {
	// Provider is nil when metrics are off.
	Provider *sdkmetric.MeterProvider
	http     *HTTP
}

// Start serves a new provider's metrics on addr and says where on stdout;
// an empty addr turns metrics off.
func Start(addr, prog string, stdout io.Writer) (*Endpoint, error) {
	if addr == "" {
		return &Endpoint{}, nil
	}
	reg := prometheus.NewRegistry()
	mp, err := NewProvider(reg)
	if err != nil {
		return nil, err
	}
	h, err := Serve(addr, reg)
	if err != nil {
		return nil, errors.Join(err, mp.Shutdown(context.Background()))
	}
	fmt.Fprintf(stdout, "%s: metrics on http://%s/metrics\n", prog, h.Addr())
	return &Endpoint{Provider: mp, http: h}, nil
}

// Addr returns where /metrics is served, "" when off.
func (e *Endpoint) Addr() string {
	if e.http == nil {
		return ""
	}
	return e.http.Addr()
}

// Options returns the client options that record into Provider (none when off).
func (e *Endpoint) Options() []omclient.Option {
	if e.Provider == nil {
		return nil
	}
	return []omclient.Option{omclient.WithMeterProvider(e.Provider)}
}

// ServerOptions is Options for a match function or evaluator server.
func (e *Endpoint) ServerOptions() []omclient.ServerOption {
	if e.Provider == nil {
		return nil
	}
	return []omclient.ServerOption{omclient.WithMeterProvider(e.Provider)}
}

// Close stops serving and shuts the provider down. It is safe on the zero
// Endpoint.
func (e *Endpoint) Close() error {
	if e.Provider == nil {
		return nil
	}
	return errors.Join(e.http.Close(), e.Provider.Shutdown(context.Background()))
}

// MeterProvider returns Provider as an interface, nil (not a typed nil)
// when metrics are off.
func (e *Endpoint) MeterProvider() metric.MeterProvider {
	if e.Provider == nil {
		return nil
	}
	return e.Provider
}
