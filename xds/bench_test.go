package xds_test

import (
	"context"
	"fmt"
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
// unavailable after its probe timeout. Each reports the time to
// the first successful call through balancer.Auto, which falls back to a
// static strategy after its gate ("first-success-s"; goal: gate + 1 s), next
// to the time a plain xds:/// connection takes to give its first call any
// result, success or error ("plain-xds-first-result-s"), and the gate
// ("gate-s").
func BenchmarkXDSUnavailable(b *testing.B) {
	b.Run("refused", func(b *testing.B) { benchUnavailable(b, withBootstrap(closedPort(b))) })
	b.Run("silent", func(b *testing.B) { benchUnavailable(b, withBootstrap(silentListener(b))) })
	b.Run("probe-silent", func(b *testing.B) {
		benchUnavailable(b, xds.Strategy{IstiodAddr: silentListener(b), Env: envOf(podEnv), CertDir: b.TempDir()})
	})
}

// withBootstrap returns a strategy whose explicit bootstrap points at
// istiodAddr, so that Detect reports it available without probing.
func withBootstrap(istiodAddr string) xds.Strategy {
	bootstrap := fmt.Appendf(nil, `{"xds_servers":[{"server_uri":%q,"channel_creds":[{"type":"insecure"}]}],`+
		`"node":{"id":%q,"metadata":{"GENERATOR":"grpc"}}}`, istiodAddr, xdstest.DefaultNodeID)
	return xds.Strategy{Bootstrap: bootstrap, Env: envOf(nil)}
}

func benchUnavailable(b *testing.B, x xds.Strategy) {
	const gate = time.Second
	bs := balancertest.StartBackends(b, 1)
	auto := balancer.Auto{
		Strategies: []balancer.Strategy{x, balancer.Static{Addrs: []string{bs[0].Addr}}},
		Gate:       gate,
	}
	var fallback, plain time.Duration
	b.ResetTimer()
	for range b.N {
		fallback += firstSuccess(b, auto)
		plain += firstResult(b, x)
	}
	b.StopTimer()
	b.ReportMetric(fallback.Seconds()/float64(b.N), "first-success-s")
	b.ReportMetric(plain.Seconds()/float64(b.N), "plain-xds-first-result-s")
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

// firstResult dials s and makes one call, returning how long it took to
// succeed or fail.
func firstResult(b *testing.B, s balancer.Strategy) time.Duration {
	ctx, cancel := context.WithTimeout(context.Background(), unavailableBenchTimeout)
	defer cancel()
	start := time.Now()
	conn, err := s.Dial(svcAddr)
	if err != nil {
		b.Fatalf("%s.Dial: %v", s.Name(), err)
	}
	defer conn.Close()
	_, err = getTicket(ctx, conn)
	d := time.Since(start)
	b.Logf("plain %s dial, istiod down: first call after %v: %v", s.Name(), d.Round(time.Millisecond), err)
	return d
}
