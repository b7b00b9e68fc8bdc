package telemetry_test

import (
	"context"
	"testing"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/internal/telemetry"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestDecisionKinds: fallbacks count "fallback" and "move_down" decisions,
// move-ups count "move_up", and every decision counts once.
func TestDecisionKinds(t *testing.T) {
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	defer mp.Shutdown(context.Background())
	c, err := telemetry.NewClient(mp, "svc:1")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"detected", "fallback", "move_down", "move_up", "none", "forced"} {
		c.Decision("headless", k)
	}
	want := map[string]int64{telemetry.Decisions: 6, telemetry.Fallbacks: 2, telemetry.MoveUps: 1}
	var rm metricdata.ResourceMetrics
	if err := r.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	for _, m := range rm.ScopeMetrics[0].Metrics {
		var got int64
		for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
			if v, _ := dp.Attributes.Value(telemetry.AttrAddress); v.AsString() != "svc:1" {
				t.Errorf("%s point without server.address=svc:1: %v", m.Name, dp.Attributes)
			}
			got += dp.Value
		}
		if got != want[m.Name] {
			t.Errorf("%s = %d, want %d", m.Name, got, want[m.Name])
		}
		delete(want, m.Name)
	}
	if len(want) != 0 {
		t.Errorf("instruments not reported: %v", want)
	}
}

// TestMarkRetry: only a marked context reads as a retry.
func TestMarkRetry(t *testing.T) {
	ctx := context.Background()
	if telemetry.IsRetry(ctx) || !telemetry.IsRetry(telemetry.MarkRetry(ctx)) {
		t.Errorf("IsRetry(plain), IsRetry(marked) = %v, %v; want false, true", telemetry.IsRetry(ctx), telemetry.IsRetry(telemetry.MarkRetry(ctx)))
	}
}

// TestNilProvider: with no provider every method is a no-op that works.
func TestNilProvider(t *testing.T) {
	c, err := telemetry.NewClient(nil, "svc:1")
	if err != nil {
		t.Fatal(err)
	}
	c.Decision("static", "configured")
	c.Retry(context.Background(), "/a.B/C")
	if err := c.RegisterInUse(func() string { return "static" }); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}
