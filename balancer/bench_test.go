package balancer_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// benchRefresh is the re-resolution interval in benchmarks: long enough to
// be realistic next to the 1 s pickup goal, short enough to keep them quick.
const benchRefresh = 500 * time.Millisecond

func BenchmarkSpread(b *testing.B) {
	b.Run("headless", func(b *testing.B) { balancertest.BenchSpread(b, headlessHarness(benchRefresh)) })
	b.Run("sidecar", func(b *testing.B) { balancertest.BenchSpread(b, sidecarHarness(benchRefresh)) })
	b.Run("static", func(b *testing.B) { balancertest.BenchSpread(b, staticHarness) })
}

func BenchmarkScaleUp(b *testing.B) {
	b.Run("headless", func(b *testing.B) {
		balancertest.BenchScaleUp(b, headlessHarness(benchRefresh))
		b.ReportMetric(benchRefresh.Seconds(), "refresh-s")
	})
	b.Run("sidecar", func(b *testing.B) { balancertest.BenchScaleUp(b, sidecarHarness(benchRefresh)) })
	b.Run("stock-dns", benchStockScaleUp)
}

func BenchmarkFailover(b *testing.B) {
	b.Run("headless", func(b *testing.B) { balancertest.BenchFailover(b, headlessHarness(benchRefresh)) })
	b.Run("sidecar", func(b *testing.B) { balancertest.BenchFailover(b, sidecarHarness(benchRefresh)) })
	b.Run("static", func(b *testing.B) { balancertest.BenchFailover(b, staticHarness) })
}

// stockWindow is how long the stock resolver is watched for picking up a
// new backend.
const stockWindow = 3 * time.Second

// benchStockScaleUp is the baseline: grpc-go's own dns resolver with
// round_robin, pointed at the same fake DNS. It only re-resolves when a
// connection breaks, so a backend added while the others live gets no call.
// "stock-pickup-s" is the time until the new backend's first call, or the
// whole observation window when it got none ("stock-picked" 0).
func benchStockScaleUp(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	all := balancertest.StartBackends(b, 4)
	srv, addr, set := dnsBackends(b, all[:3])
	conn, err := grpc.NewClient("dns://"+srv.Addr()+"/"+addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"round_robin":{}}]}`))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	for _, bk := range all[:3] {
		for bk.Calls() == 0 {
			if _, err := calltest.GetTicket(ctx, conn, grpc.WaitForReady(true)); err != nil {
				b.Fatal(err)
			}
		}
	}
	var total time.Duration
	picked := 0.0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		base := all[3].Calls()
		set(b, all)
		start := time.Now()
		for all[3].Calls() == base && time.Since(start) < stockWindow {
			if _, err := calltest.GetTicket(ctx, conn); err != nil {
				b.Fatal(err)
			}
		}
		if all[3].Calls() > base {
			picked = 1
		}
		total += time.Since(start)
		set(b, all[:3])
	}
	b.ReportMetric(total.Seconds()/float64(b.N), "stock-pickup-s")
	b.ReportMetric(picked, "stock-picked")
}
