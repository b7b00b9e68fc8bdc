package metrics_test

import (
	"context"
	"io"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestEndpointServesTraffic: calls made with the endpoint's options show on
// its /metrics, scraped over HTTP and parsed as Prometheus does: grpc-go's
// attempt counter and meshmatch's decision counter and in-use gauge.
func TestEndpointServesTraffic(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	core := omtest.NewServer(t)
	e, err := metrics.Start("127.0.0.1:0", "test", io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	fe, err := omclient.DialFrontend(core.Addr(), e.Options()...)
	if err != nil {
		t.Fatal(err)
	}
	defer fe.Close()
	before, err := metrics.Scrape(ctx, e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	for range 4 {
		if _, err := fe.CreateTicket(ctx, &pb.Ticket{}); err != nil {
			t.Fatalf("CreateTicket() = %v", err)
		}
	}
	after, err := metrics.Scrape(ctx, e.Addr())
	if err != nil {
		t.Fatal(err)
	}
	method := []string{"grpc_method", "openmatch.FrontendService/CreateTicket"}
	if d := metrics.Value(after, "grpc_client_attempt_started_total", method...) - metrics.Value(before, "grpc_client_attempt_started_total", method...); d != 4 {
		t.Errorf("grpc_client_attempt_started_total{CreateTicket} moved by %v, want 4", d)
	}
	if v := metrics.Value(after, "meshmatch_strategy_in_use", "server_address", core.Addr()); v != 1 {
		t.Errorf("meshmatch_strategy_in_use{server_address=%s} = %v, want 1", core.Addr(), v)
	}
	if v := metrics.Value(after, "meshmatch_strategy_decisions_total", "server_address", core.Addr()); v < 1 {
		t.Errorf("meshmatch_strategy_decisions_total = %v, want at least 1", v)
	}
}

// TestEndpointOff: an empty address turns metrics off: no provider, no
// options, and Close works.
func TestEndpointOff(t *testing.T) {
	e, err := metrics.Start("", "test", io.Discard)
	if err != nil || e.Provider != nil || len(e.Options()) != 0 || e.Addr() != "" {
		t.Fatalf("Start(\"\") = %+v, %v; want an endpoint that is off", e, err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}

// TestEndpointBadAddr: an address it cannot listen on is a clear error.
func TestEndpointBadAddr(t *testing.T) {
	if _, err := metrics.Start("127.0.0.1:99999", "test", io.Discard); err == nil {
		t.Errorf("Start(127.0.0.1:99999) = nil error, want one")
	}
}
