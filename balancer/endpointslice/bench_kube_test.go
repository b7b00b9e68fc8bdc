//go:build kubernetes

package endpointslice_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// BenchmarkEndpointSlicePickup times each iteration from the start of the
// SetEndpoints that adds a second pod until that pod serves its first call
// ("p50-pickup-s", "p99-pickup-s"; the goal is p99 ≤ 0.5 s). The baseline
// measured in the same run is the SetEndpoints request itself
// ("p50-apply-s"): "p50-pickup/apply" is how much the watch adds to the
// write of the slice.
func BenchmarkEndpointSlicePickup(b *testing.B) {
	c := cluster(b)
	ctx := testContext(b)
	bs := balancertest.StartBackendsAt(b, podHosts(2))
	svc := newService(b, c, bs[:1])
	conn := balancertest.Dial(b, strategy(b, c), svc.Addr())
	if err := calltest.WaitServed(ctx, conn, bs[:1]); err != nil {
		b.Fatal(err)
	}
	one, two := kubetest.Ready(balancertest.IPs(bs[:1])...), kubetest.Ready(balancertest.IPs(bs)...)
	var pickup, apply []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		setEndpoints(b, c, svc, two)
		applied := time.Since(start)
		if !servedBy(ctx, conn, bs[1]) {
			b.Fatalf("%s never served a call", bs[1].Name)
		}
		pickup, apply = append(pickup, time.Since(start)), append(apply, applied)
		b.StopTimer()
		setEndpoints(b, c, svc, one)
		if err := waitNotServed(ctx, conn, bs[1], 30); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	p50, p99 := quantile(pickup, 0.5), quantile(pickup, 0.99)
	b.ReportMetric(p50.Seconds(), "p50-pickup-s")
	b.ReportMetric(p99.Seconds(), "p99-pickup-s")
	b.ReportMetric(quantile(apply, 0.5).Seconds(), "p50-apply-s")
	b.ReportMetric(float64(p50)/float64(max(quantile(apply, 0.5), 1)), "p50-pickup/apply")
	b.ReportMetric(0, "ns/op")
}

// servedBy makes calls until one is served by want, within the test
// ctx and maxCalls.
func servedBy(ctx context.Context, conn grpc.ClientConnInterface, want *balancertest.Backend) bool {
	for range maxCalls {
		name, err := calltest.GetTicket(ctx, conn)
		if err == nil && name == want.Name {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
	}
	return false
}

func quantile(ds []time.Duration, q float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(q*float64(len(s))))]
}
