package xds_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// unavailableBenchTimeout bounds each measured wait; grpc-go's own xDS
// watch expiry (15 s) fits in it.
const unavailableBenchTimeout = 40 * time.Second

// BenchmarkXDSUnavailable starts with istiod down while a bootstrap points
// at it, so the xDS strategy is chosen and never becomes ready: "refused"
// has nothing listening on istiod's address, "silent" accepts connections
// and never answers (like a black-holed address), and "probe-silent" has no
// bootstrap, so Detect probes the silent istiod and reports the xDS strategy
// unavailable after its probe timeout. Each reports the time to the first
// successful call through balancer.Auto, which falls back to a static
// strategy after its gate ("first-success-s"; goal: gate + 1 s), and the
// gate ("gate-s"). The baseline is stock grpc-go as a user runs it, in a
// fresh process: xds:/// with GRPC_XDS_BOOTSTRAP naming a file with the same
// bootstrap (unset for probe-silent, where a user has none), timed to its
// first call's result, success or error ("stock-xds-first-result-s"), and
// whether that call succeeded ("stock-xds-ok", 0 or 1).
func BenchmarkXDSUnavailable(b *testing.B) {
	b.Run("refused", func(b *testing.B) { benchUnavailable(b, closedPort(b), true) })
	b.Run("silent", func(b *testing.B) { benchUnavailable(b, silentListener(b), true) })
	b.Run("probe-silent", func(b *testing.B) { benchUnavailable(b, silentListener(b), false) })
}

// bootstrapFor is a bootstrap that points at istiodAddr.
func bootstrapFor(istiodAddr string) []byte {
	return fmt.Appendf(nil, `{"xds_servers":[{"server_uri":%q,"channel_creds":[{"type":"insecure"}]}],`+
		`"node":{"id":%q,"metadata":{"GENERATOR":"grpc"}}}`, istiodAddr, xdstest.DefaultNodeID)
}

// unavailableSides returns the xDS strategy for istiodAddr (with an explicit
// bootstrap, so that Detect reports it available without probing, or
// composing one after a probe) and the bootstrap file the stock baseline
// gets ("" for none).
func unavailableSides(b *testing.B, istiodAddr string, withBootstrap bool) (xds.Strategy, string) {
	if !withBootstrap {
		return xds.Strategy{IstiodAddr: istiodAddr, Env: envOf(podEnv), CertDir: b.TempDir()}, ""
	}
	file := filepath.Join(b.TempDir(), "bootstrap.json")
	if err := os.WriteFile(file, bootstrapFor(istiodAddr), 0o600); err != nil {
		b.Fatal(err)
	}
	return xds.Strategy{Bootstrap: bootstrapFor(istiodAddr), Env: envOf(nil)}, file
}

func benchUnavailable(b *testing.B, istiodAddr string, withBootstrap bool) {
	const gate = time.Second
	x, file := unavailableSides(b, istiodAddr, withBootstrap)
	bs := balancertest.StartBackends(b, 1)
	auto := balancer.Auto{
		Strategies: []balancer.Strategy{x, balancer.Static{Addrs: []string{bs[0].Addr}}},
		Gate:       gate,
	}
	var fallback, stock time.Duration
	stockOK := 0.0
	b.ResetTimer()
	for range b.N {
		fallback += firstSuccess(b, auto)
		d, ok := stockFirstResultRun(b, file)
		stock += d
		if ok {
			stockOK = 1
		}
	}
	b.StopTimer()
	b.ReportMetric(fallback.Seconds()/float64(b.N), "first-success-s")
	b.ReportMetric(stock.Seconds()/float64(b.N), "stock-xds-first-result-s")
	b.ReportMetric(stockOK, "stock-xds-ok")
	b.ReportMetric(gate.Seconds(), "gate-s")
	b.ReportMetric(0, "ns/op")
}

// firstSuccess dials s and calls until a call succeeds, returning how long
// that took from the dial.
func firstSuccess(b *testing.B, s balancer.Strategy) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), unavailableBenchTimeout)
	defer cancel()
	start := time.Now()
	conn, err := s.Dial(svcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatalf("%s.Dial: %v", s.Name(), err)
	}
	defer conn.Close()
	for {
		_, err := getTicket(ctx, conn)
		if err == nil {
			return time.Since(start)
		}
		if ctx.Err() != nil {
			b.Fatalf("%s: no successful call within %v: %v", s.Name(), unavailableBenchTimeout, err)
		}
	}
}
