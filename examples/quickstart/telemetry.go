package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// meter is a meter provider and the reader the quickstart reads it with.
type meter struct {
	mp     *sdkmetric.MeterProvider
	reader *sdkmetric.ManualReader
}

// telemetry is where the run's numbers come from: one meter for the
// connections (and the embedded core), one per replica for its server, all
// exported to one Prometheus registry (each replica's series labelled
// replica="addr") that -metrics-addr serves.
type telemetry struct {
	reg      *prometheus.Registry
	conns    meter
	replicas []meter
	core     []coreReplica // the embedded core's gRPC servers
	http     *metrics.HTTP // nil without -metrics-addr
}

// coreReplica is one gRPC server of the embedded core and its meter.
type coreReplica struct {
	info omtest.ReplicaInfo
	m    meter
}

func newTelemetry() (*telemetry, error) {
	t := &telemetry{reg: prometheus.NewRegistry()}
	m, err := newMeter(t.reg)
	t.conns = m
	return t, err
}

func newMeter(reg prometheus.Registerer) (meter, error) {
	r := sdkmetric.NewManualReader()
	mp, err := metrics.NewProvider(reg, r)
	return meter{mp: mp, reader: r}, err
}

// addReplica returns the server options of a new replica's meter.
func (t *telemetry) addReplica(addr string) ([]omclient.ServerOption, error) {
	m, err := newMeter(prometheus.WrapRegistererWith(prometheus.Labels{"replica": addr}, t.reg))
	if err != nil {
		return nil, err
	}
	t.replicas = append(t.replicas, m)
	return []omclient.ServerOption{omclient.WithMeterProvider(m.mp)}, nil
}

// addCoreReplica returns the meter provider of a new gRPC server of the
// embedded core (omtest.Config.ReplicaMeterProvider), labelled like the
// match function replicas; nil on error, which leaves the server in the
// connections' meter.
func (t *telemetry) addCoreReplica(info omtest.ReplicaInfo) metric.MeterProvider {
	m, err := newMeter(prometheus.WrapRegistererWith(prometheus.Labels{"replica": info.Addr}, t.reg))
	if err != nil {
		return nil
	}
	t.core = append(t.core, coreReplica{info: info, m: m})
	return m.mp
}

// coreCalls returns, by replica address in index order, the calls of the
// Open-Match service svc that the core's replicas of svc served
// (grpc.server.call.started of every method of the service).
func (t *telemetry) coreCalls(svc omtest.Service) []replicaCalls {
	prefix := serviceName(svc) + "/"
	var out []replicaCalls
	for _, r := range t.core {
		if !slices.Contains(r.info.Services, svc) {
			continue
		}
		var n int64
		r.m.each("grpc.server.call.started", func(s attribute.Set, v int64) {
			if m, ok := s.Value("grpc.method"); ok && strings.HasPrefix(m.AsString(), prefix) {
				n += v
			}
		})
		out = append(out, replicaCalls{addr: r.info.Addr, calls: n})
	}
	return out
}

// coreChecks returns the health checks each of svc's replicas served.
func (t *telemetry) coreChecks(svc omtest.Service) []int64 {
	var out []int64
	for _, r := range t.core {
		if slices.Contains(r.info.Services, svc) {
			out = append(out, r.m.sum("grpc.server.call.started", attribute.String("grpc.method", methodName(healthpb.Health_Check_FullMethodName))))
		}
	}
	return out
}

// serviceName is svc's gRPC service name.
func serviceName(svc omtest.Service) string {
	switch svc {
	case omtest.ServiceFrontend:
		return pb.FrontendService_ServiceDesc.ServiceName
	case omtest.ServiceBackend:
		return pb.BackendService_ServiceDesc.ServiceName
	default:
		return pb.QueryService_ServiceDesc.ServiceName
	}
}

// options are the client options of the run's connections.
func (t *telemetry) options() []omclient.Option {
	return []omclient.Option{omclient.WithMeterProvider(t.conns.mp)}
}

// serve serves the registry on addr's /metrics; an empty addr does nothing.
func (t *telemetry) serve(addr string, w io.Writer) error {
	if addr == "" {
		return nil
	}
	h, err := metrics.Serve(addr, t.reg)
	if err != nil {
		return err
	}
	t.http = h
	fmt.Fprintf(w, "metrics on http://%s/metrics\n", h.Addr())
	return nil
}

// runs returns the MatchFunction.Run calls replica i served, from grpc-go's
// grpc.server.call.started.
func (t *telemetry) runs(i int) int64 {
	return t.replicas[i].sum("grpc.server.call.started", attribute.String("grpc.method", methodName(pb.MatchFunction_Run_FullMethodName)))
}

// checks returns the health checks replica i served.
func (t *telemetry) checks(i int) int64 {
	return t.replicas[i].sum("grpc.server.call.started", attribute.String("grpc.method", methodName(healthpb.Health_Check_FullMethodName)))
}

// methodName is a full method name as grpc-go's metrics label it.
func methodName(full string) string { return full[1:] }

// close stops serving and shuts every meter down.
func (t *telemetry) close() error {
	var errs []error
	if t.http != nil {
		errs = append(errs, t.http.Close())
	}
	ms := append([]meter{t.conns}, t.replicas...)
	for _, r := range t.core {
		ms = append(ms, r.m)
	}
	for _, m := range ms {
		if m.mp != nil {
			errs = append(errs, m.mp.Shutdown(context.Background()))
		}
	}
	return errors.Join(errs...)
}

// sum adds the int64 points of the counter or gauge name whose attributes
// include all of want.
func (m meter) sum(name string, want ...attribute.KeyValue) int64 {
	var total int64
	m.each(name, func(attrs attribute.Set, v int64) {
		if hasAll(attrs, want) {
			total += v
		}
	})
	return total
}

// each calls fn for every int64 point of the counter or gauge name.
func (m meter) each(name string, fn func(attribute.Set, int64)) {
	var rm metricdata.ResourceMetrics
	if err := m.reader.Collect(context.Background(), &rm); err != nil {
		return
	}
	for _, sm := range rm.ScopeMetrics {
		for _, mt := range sm.Metrics {
			if mt.Name == name {
				eachPoint(mt.Data, fn)
			}
		}
	}
}

func eachPoint(data metricdata.Aggregation, fn func(attribute.Set, int64)) {
	var dps []metricdata.DataPoint[int64]
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		dps = d.DataPoints
	case metricdata.Gauge[int64]:
		dps = d.DataPoints
	}
	for _, dp := range dps {
		fn(dp.Attributes, dp.Value)
	}
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// strategyOf returns the strategy in use for the connections to addr
// (meshmatch.strategy.in_use) and the kinds of their decisions
// (meshmatch.strategy.decisions).
func (t *telemetry) strategyOf(addr string) (strategy string, kinds []string) {
	at := attribute.String("server.address", addr)
	t.conns.each("meshmatch.strategy.in_use", func(s attribute.Set, v int64) {
		if val, ok := s.Value("meshmatch.strategy"); ok && hasAll(s, []attribute.KeyValue{at}) && v > 0 {
			strategy = val.AsString()
		}
	})
	t.conns.each("meshmatch.strategy.decisions", func(s attribute.Set, v int64) {
		if k, ok := s.Value("meshmatch.decision.kind"); ok && hasAll(s, []attribute.KeyValue{at}) && v > 0 {
			kinds = append(kinds, k.AsString())
		}
	})
	return strategy, kinds
}
