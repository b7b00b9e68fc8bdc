package omtest_test

import (
	"context"
	"testing"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// TestMeterProviderRecordsServerCalls: WithMeterProvider makes the core's
// servers record grpc-go's server metrics for the calls they serve.
func TestMeterProviderRecordsServerCalls(t *testing.T) {
	ctx := testCtx(t)
	r := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(r))
	t.Cleanup(func() { _ = mp.Shutdown(context.Background()) })
	s := omtest.NewServer(t, omtest.WithMeterProvider(mp))
	for range 3 {
		if _, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}}); err != nil {
			t.Fatalf("CreateTicket() = %v", err)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := r.Collect(ctx, &rm); err != nil {
		t.Fatal(err)
	}
	want := attribute.String("grpc.method", "openmatch.FrontendService/CreateTicket")
	var got int64
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			if sum, ok := m.Data.(metricdata.Sum[int64]); ok && m.Name == "grpc.server.call.started" {
				for _, dp := range sum.DataPoints {
					if v, ok := dp.Attributes.Value(want.Key); ok && v == want.Value {
						got += dp.Value
					}
				}
			}
		}
	}
	if got != 3 {
		t.Errorf("grpc.server.call.started{CreateTicket} = %d, want 3", got)
	}
}
