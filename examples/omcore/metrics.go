package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// coreMetrics is -metrics-addr: a meter provider for the core's
// connections to match functions and evaluators, and one per gRPC server of
// the core whose series carry replica="host:port", so that the spread of
// calls over the replicas shows; all exported to one registry served on
// /metrics. Its zero value is "off".
type coreMetrics struct {
	reg  *prometheus.Registry
	mp   *sdkmetric.MeterProvider
	http *metrics.HTTP

	mu       sync.Mutex
	replicas []*sdkmetric.MeterProvider
	errs     []error
}

// startMetrics serves the metrics on addr and says where on w; an empty
// addr turns them off.
func startMetrics(addr string, w io.Writer) (*coreMetrics, error) {
	if addr == "" {
		return &coreMetrics{}, nil
	}
	reg := prometheus.NewRegistry()
	mp, err := metrics.NewProvider(reg)
	if err != nil {
		return nil, err
	}
	h, err := metrics.Serve(addr, reg)
	if err != nil {
		return nil, errors.Join(err, mp.Shutdown(context.Background()))
	}
	fmt.Fprintf(w, "omcore: metrics on http://%s/metrics\n", h.Addr())
	return &coreMetrics{reg: reg, mp: mp, http: h}, nil
}

// apply makes cfg record into m (nothing when off).
func (m *coreMetrics) apply(cfg *omtest.Config) {
	if m.mp == nil {
		return
	}
	cfg.MeterProvider = m.mp
	cfg.ReplicaMeterProvider = m.replica
}

// replica returns a new provider for the server info describes.
func (m *coreMetrics) replica(info omtest.ReplicaInfo) metric.MeterProvider {
	m.mu.Lock()
	defer m.mu.Unlock()
	mp, err := metrics.NewProvider(prometheus.WrapRegistererWith(prometheus.Labels{"replica": info.Addr}, m.reg))
	if err != nil {
		m.errs = append(m.errs, fmt.Errorf("metrics of replica %s: %w", info.Addr, err))
		return nil
	}
	m.replicas = append(m.replicas, mp)
	return mp
}

// err returns what went wrong making the replicas' providers.
func (m *coreMetrics) err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return errors.Join(m.errs...)
}

// Close stops serving and shuts every provider down.
func (m *coreMetrics) Close() error {
	if m.mp == nil {
		return nil
	}
	errs := []error{m.http.Close(), m.mp.Shutdown(context.Background())}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, mp := range m.replicas {
		errs = append(errs, mp.Shutdown(context.Background()))
	}
	return errors.Join(errs...)
}
