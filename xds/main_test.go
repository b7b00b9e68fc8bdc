package xds_test

import (
	"context"
	"os"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

func TestMain(m *testing.M) {
	if mode := os.Getenv(envStockHelper); mode != "" { // a benchmark's stock grpc-go baseline
		os.Exit(stockHelper(mode))
	}
	goleak.VerifyTestMain(m)
}

// testTimeout bounds every wait of a test.
const testTimeout = 10 * time.Second

// Service names the logical address the tests dial.
const (
	svcHost = "open-match-frontend.open-match.svc.cluster.local"
	svcPort = 50504
	svcAddr = "open-match-frontend.open-match.svc.cluster.local:50504"
)

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// envOf returns an Env function that reads only vars, so tests never see
// the real process environment.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// podEnv is the downward-API environment of a pod in namespace "game".
var podEnv = map[string]string{
	"POD_NAME":      "frontend-0",
	"POD_NAMESPACE": "game",
	"INSTANCE_IP":   "127.0.0.1",
}

// istiodStrategy returns a strategy that composes its bootstrap for srv.
func istiodStrategy(t testing.TB, srv *xdstest.Server) xds.Strategy {
	return xds.Strategy{IstiodAddr: srv.Addr(), Env: envOf(podEnv), CertDir: t.TempDir()}
}

// setEndpoints returns a SetBackends function that serves live through srv.
func setEndpoints(srv *xdstest.Server) func(testing.TB, []*balancertest.Backend) {
	return func(t testing.TB, live []*balancertest.Backend) {
		t.Helper()
		addrs := make([]string, len(live))
		for i, b := range live {
			addrs[i] = b.Addr
		}
		if err := srv.SetEndpoints(svcHost, svcPort, addrs...); err != nil {
			t.Fatalf("SetEndpoints: %v", err)
		}
	}
}

// harness serves the backends through a fake istiod and dials it with a
// composed bootstrap.
func harness(t testing.TB, backends []*balancertest.Backend) balancertest.Setup {
	srv := xdstest.NewServer(t)
	set := setEndpoints(srv)
	set(t, backends)
	return balancertest.Setup{
		Strategy:    istiodStrategy(t, srv),
		Addr:        svcAddr,
		SetBackends: set,
	}
}

func TestConformance(t *testing.T) {
	balancertest.Run(t, harness)
}

func BenchmarkSpread(b *testing.B) {
	b.Run("xds", func(b *testing.B) { balancertest.BenchSpread(b, harness) })
}

func BenchmarkScaleUp(b *testing.B) {
	b.Run("xds", func(b *testing.B) { balancertest.BenchScaleUp(b, harness) })
}

func BenchmarkFailover(b *testing.B) {
	b.Run("xds", func(b *testing.B) { balancertest.BenchFailover(b, harness) })
}
