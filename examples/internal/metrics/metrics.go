// Package metrics serves the example commands' OpenTelemetry metrics in the
// Prometheus text format on -metrics-addr: a meter provider exporting
// through the OTel Prometheus exporter into a registry of its own (never
// Prometheus's global one), and an HTTP server for /metrics.
package metrics

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
)

// FlagUsage is the help text of -metrics-addr.
const FlagUsage = "serve Prometheus metrics (meshmatch and gRPC instruments) on http://host:port/metrics (default: off)"

// Flag registers -metrics-addr on fs.
func Flag(fs *flag.FlagSet, addr *string) { fs.StringVar(addr, "metrics-addr", "", FlagUsage) }

// NewProvider returns a meter provider whose metrics reg exports, plus
// extra readers (a ManualReader for a program that reads its own numbers).
func NewProvider(reg prometheus.Registerer, extra ...sdkmetric.Reader) (*sdkmetric.MeterProvider, error) {
	exp, err := otelprom.New(otelprom.WithRegisterer(reg))
	if err != nil {
		return nil, fmt.Errorf("metrics: prometheus exporter: %w", err)
	}
	opts := []sdkmetric.Option{sdkmetric.WithReader(exp)}
	for _, r := range extra {
		opts = append(opts, sdkmetric.WithReader(r))
	}
	return sdkmetric.NewMeterProvider(opts...), nil
}

// HTTP is a running /metrics endpoint.
type HTTP struct {
	lis  net.Listener
	srv  *http.Server
	done chan error
}

// Serve serves g on http://addr/metrics until Close.
func Serve(addr string, g prometheus.Gatherer) (*HTTP, error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(g, promhttp.HandlerOpts{}))
	h := &HTTP{lis: lis, srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan error, 1)}
	go func() { h.done <- h.srv.Serve(lis) }()
	return h, nil
}

// Addr returns the address it listens on.
func (h *HTTP) Addr() string { return h.lis.Addr().String() }

// Close stops the server and waits for its serve loop.
func (h *HTTP) Close() error {
	err := h.srv.Close()
	if serveErr := <-h.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// Check checks -metrics-addr: empty (off) or an address to listen on.
func Check(addr *string) func() error {
	return func() error {
		if *addr == "" {
			return nil
		}
		return cli.ListenAddr("metrics-addr", addr)()
	}
}
