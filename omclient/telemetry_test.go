package omclient_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// meterForTest returns a meter provider whose reader the test collects.
func meterForTest(t *testing.T) (*sdkmetric.MeterProvider, *sdkmetric.ManualReader) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	return mp, r
}

// sum adds the points of the counter or gauge name whose attributes
// include every one of want, and reports whether the instrument exists.
func sum(t *testing.T, r *sdkmetric.ManualReader, name string, want ...attribute.KeyValue) (int64, bool) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatalf("Collect() = %v", err)
	}
	var total int64
	found := false
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if m.Name != name {
				continue
			}
			found = true
			total += points(m.Data, want)
		}
	}
	return total, found
}

func points(data metricdata.Aggregation, want []attribute.KeyValue) int64 {
	var dps []metricdata.DataPoint[int64]
	switch d := data.(type) {
	case metricdata.Sum[int64]:
		dps = d.DataPoints
	case metricdata.Gauge[int64]:
		dps = d.DataPoints
	}
	var total int64
	for _, dp := range dps {
		if hasAll(dp.Attributes, want) {
			total += dp.Value
		}
	}
	return total
}

func hasAll(set attribute.Set, want []attribute.KeyValue) bool {
	for _, kv := range want {
		if v, ok := set.Value(kv.Key); !ok || v != kv.Value {
			return false
		}
	}
	return true
}

// TestMeterProviderRecordsCallsRetriesAndStrategy: with WithMeterProvider a
// retried GetTicket shows in grpc-go's attempt counter (three attempts) and
// in meshmatch.rpc.retries (two), the strategy set by WithStrategy is one
// "configured" decision and the in-use gauge, which Close removes; and no
// global provider is set.
func TestMeterProviderRecordsCallsRetriesAndStrategy(t *testing.T) {
	ctx := testContext(t)
	globalBefore := otel.GetMeterProvider()
	fe, srv := startFrontend(t)
	fe.fail("GetTicket", errUnavailable, errUnavailable)
	mp, r := meterForTest(t)
	conn := dial(t, srv.addr, omclient.WithMeterProvider(mp))
	if _, err := omclient.NewFrontend(conn).GetTicket(ctx, "t1"); err != nil {
		t.Fatalf("GetTicket() = %v", err)
	}
	getTicket := attribute.String("rpc.method", "GetTicket")
	checks := []struct {
		name string
		attr []attribute.KeyValue
		want int64
	}{
		{name: "grpc.client.attempt.started", attr: []attribute.KeyValue{attribute.String("grpc.method", "openmatch.FrontendService/GetTicket")}, want: 3},
		{name: "meshmatch.rpc.retries", attr: []attribute.KeyValue{getTicket, attribute.String("rpc.service", "openmatch.FrontendService"), attribute.String("server.address", srv.addr)}, want: 2},
		{name: "meshmatch.strategy.decisions", attr: []attribute.KeyValue{attribute.String("meshmatch.strategy", "static"), attribute.String("meshmatch.decision.kind", "configured")}, want: 1},
		{name: "meshmatch.strategy.in_use", attr: []attribute.KeyValue{attribute.String("meshmatch.strategy", "static"), attribute.String("server.address", srv.addr)}, want: 1},
	}
	for _, c := range checks {
		if got, _ := sum(t, r, c.name, c.attr...); got != c.want {
			t.Errorf("%s%v = %d, want %d", c.name, c.attr, got, c.want)
		}
	}
	if err := conn.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if got, _ := sum(t, r, "meshmatch.strategy.in_use"); got != 0 {
		t.Errorf("meshmatch.strategy.in_use after Close = %d, want 0 (unregistered)", got)
	}
	if otel.GetMeterProvider() != globalBefore {
		t.Errorf("the global meter provider changed")
	}
}

// TestMeterProviderCountsAutoDecisionsAndWatchResumes: an Auto given with
// WithStrategy has its decision counted (and the caller's own OnDecision
// still runs), and a watch that breaks once counts one resume.
func TestMeterProviderCountsAutoDecisionsAndWatchResumes(t *testing.T) {
	ctx := testContext(t)
	fe, srv := startFrontend(t)
	fe.setAssignment("t1", &pb.Assignment{Connection: "10.0.0.1:7777"})
	fe.fail("WatchAssignments", errUnavailable)
	mp, r := meterForTest(t)
	var mu sync.Mutex
	var seen []balancer.Decision
	a := balancer.Auto{Strategies: []balancer.Strategy{balancer.Static{Addrs: []string{srv.addr}}}, OnDecision: func(d balancer.Decision) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, d)
	}}
	conn := dial(t, srv.addr, omclient.WithStrategy(a), omclient.WithMeterProvider(mp))
	for a, err := range omclient.NewFrontend(conn).WatchAssignments(ctx, "t1") {
		if err != nil || a.GetConnection() != "10.0.0.1:7777" {
			t.Fatalf("WatchAssignments() = %v, %v; want the assignment", a, err)
		}
		break
	}
	if got, _ := sum(t, r, "meshmatch.strategy.decisions", attribute.String("meshmatch.strategy", "static"), attribute.String("meshmatch.decision.kind", "detected")); got != 1 {
		t.Errorf("meshmatch.strategy.decisions{static, detected} = %d, want 1", got)
	}
	mu.Lock()
	if len(seen) != 1 {
		t.Errorf("the Auto's own OnDecision saw %d decisions, want 1", len(seen))
	}
	mu.Unlock()
	if got, _ := sum(t, r, "meshmatch.watch.resumes", attribute.String("server.address", srv.addr)); got != 1 {
		t.Errorf("meshmatch.watch.resumes = %d, want 1", got)
	}
}

// TestTracerProviderRecordsSpans: WithTracerProvider makes grpc-go record a
// span for the call.
func TestTracerProviderRecordsSpans(t *testing.T) {
	ctx := testContext(t)
	_, srv := startFrontend(t)
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	t.Cleanup(func() { _ = tp.Shutdown(context.Background()) })
	conn := dial(t, srv.addr, omclient.WithTracerProvider(tp))
	if _, err := omclient.NewFrontend(conn).GetTicket(ctx, "t1"); err != nil {
		t.Fatalf("GetTicket() = %v", err)
	}
	var names []string
	for _, s := range rec.Ended() {
		names = append(names, s.Name())
	}
	if !strings.Contains(strings.Join(names, " "), "openmatch.FrontendService.GetTicket") {
		t.Errorf("ended spans %q, want one for openmatch.FrontendService.GetTicket", names)
	}
}

// TestServerMeterProvider: an evaluator server built with WithMeterProvider
// records grpc-go's server call metrics for the calls it serves.
func TestServerMeterProvider(t *testing.T) {
	ctx := testContext(t)
	mp, r := meterForTest(t)
	host, port := serve(t, omclient.NewEvaluatorServer(nil, omclient.WithMeterProvider(mp)))
	cc := rawConn(t, net.JoinHostPort(host, strconv.Itoa(port)))
	for range 2 {
		if _, err := healthpb.NewHealthClient(cc).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
			t.Fatalf("health Check() = %v", err)
		}
	}
	if got, _ := sum(t, r, "grpc.server.call.started", attribute.String("grpc.method", "grpc.health.v1.Health/Check")); got != 2 {
		t.Errorf("grpc.server.call.started{Health/Check} = %d, want 2", got)
	}
}

// TestMeterProviderCountsQueryPoolsRestarts: a pool whose stream breaks
// once is one meshmatch.query.restarts (and one retry) of QueryTickets.
func TestMeterProviderCountsQueryPoolsRestarts(t *testing.T) {
	ctx := testContext(t)
	q := &flakyQuery{
		pages:     map[string][][]*pb.Ticket{"eu": {tickets("eu-a", 3), tickets("eu-b", 2)}, "us": {tickets("us-a", 4)}},
		breakOnce: map[string]bool{"eu": true},
		calls:     map[string]int{},
	}
	srv := startServer(t, func(gs *grpc.Server) { pb.RegisterQueryServiceServer(gs, q) })
	mp, r := meterForTest(t)
	if _, err := omclient.NewQuery(dial(t, srv.addr, omclient.WithMeterProvider(mp))).QueryPools(ctx, []*pb.Pool{{Name: "eu"}, {Name: "us"}}); err != nil {
		t.Fatalf("QueryPools() = %v", err)
	}
	method := attribute.String("rpc.method", "QueryTickets")
	for _, name := range []string{"meshmatch.query.restarts", "meshmatch.rpc.retries"} {
		if got, _ := sum(t, r, name, method); got != 1 {
			t.Errorf("%s{QueryTickets} = %d, want 1", name, got)
		}
	}
}

// TestMeterProviderCountsFallback: an Auto whose first strategy cannot
// connect within its gate falls back, which the decision counter records
// with kind "fallback" and the fallback counter with the strategy moved to.
func TestMeterProviderCountsFallback(t *testing.T) {
	ctx := testContext(t)
	_, srv := startFrontend(t)
	mp, r := meterForTest(t)
	a := &balancer.Auto{
		Strategies: []balancer.Strategy{balancer.Static{Addrs: []string{closedPort(t)}}, balancer.Headless{}},
		Gate:       50 * time.Millisecond,
	}
	conn := dial(t, srv.addr, omclient.WithStrategy(a), omclient.WithMeterProvider(mp))
	if _, err := omclient.NewFrontend(conn).GetTicket(ctx, "t1"); err != nil {
		t.Fatalf("GetTicket() = %v", err)
	}
	headless := attribute.String("meshmatch.strategy", "headless")
	if got, _ := sum(t, r, "meshmatch.strategy.decisions", headless, attribute.String("meshmatch.decision.kind", "fallback")); got != 1 {
		t.Errorf("meshmatch.strategy.decisions{headless, fallback} = %d, want 1", got)
	}
	if got, _ := sum(t, r, "meshmatch.strategy.fallbacks", headless); got != 1 {
		t.Errorf("meshmatch.strategy.fallbacks{headless} = %d, want 1", got)
	}
	if got, _ := sum(t, r, "meshmatch.strategy.in_use", headless); got != 1 {
		t.Errorf("meshmatch.strategy.in_use{headless} = %d, want 1", got)
	}
	if a.OnDecision != nil {
		t.Errorf("NewConn changed the caller's Auto")
	}
}
