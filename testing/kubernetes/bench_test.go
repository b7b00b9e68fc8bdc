//go:build kubernetes

package kubernetes

import (
	"context"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// coreDNSTTL is the TTL CoreDNS's kubernetes plugin gives headless records.
const coreDNSTTL = 5 * time.Second

// pickupGoal is how soon a client should call a new ready pod, and stop
// calling a removed one: the DNS TTL plus a re-resolution interval plus 1 s.
const pickupGoal = coreDNSTTL + testRefresh + time.Second

var harnesses = []struct {
	name string
	h    balancertest.Harness
}{
	{"headless-coredns", headlessHarness},
	{"xds-istiod-kubernetes", xdsHarness},
	{"endpointslice", endpointsliceHarness},
}

// BenchmarkKubernetesSpread: calls over 3 pods, max/min share.
func BenchmarkKubernetesSpread(b *testing.B) {
	for _, h := range harnesses {
		b.Run(h.name, func(b *testing.B) { balancertest.BenchSpreadOn(b, podHosts(3), h.h) })
	}
}

// BenchmarkKubernetesPickup adds a 4th ready pod to the Service's slice and
// then removes it, under load, b.N times, and reports the mean time until
// the new pod served its first call (pickup-s) and until the removed one
// served its last (stop-s), each also as a fraction of pickupGoal.
func BenchmarkKubernetesPickup(b *testing.B) {
	for _, h := range harnesses {
		b.Run(h.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			all := balancertest.StartBackendsAt(b, podHosts(4))
			s := h.h(b, all[:3])
			conn := balancertest.Dial(b, s.Strategy, s.Addr)
			if err := calltest.WaitServed(ctx, conn, all[:3]); err != nil {
				b.Fatal(err)
			}
			stop := balancertest.Load(ctx, conn, 4)
			var pickup, gone time.Duration
			b.ResetTimer()
			for range b.N {
				base, start := all[3].Calls(), time.Now()
				s.SetBackends(b, all)
				for all[3].Calls() == base {
					if ctx.Err() != nil {
						b.Fatalf("%s not called: %v", all[3].Name, ctx.Err())
					}
					time.Sleep(5 * time.Millisecond)
				}
				pickup += time.Since(start)
				start = time.Now()
				s.SetBackends(b, all[:3])
				last := lastCall(ctx, b, all[3], start)
				gone += last.Sub(start)
			}
			b.StopTimer()
			if failed := stop(); failed != 0 {
				b.Errorf("%d calls failed while pods were added and removed", failed)
			}
			n := float64(b.N)
			b.ReportMetric(pickup.Seconds()/n, "pickup-s")
			b.ReportMetric(gone.Seconds()/n, "stop-s")
			b.ReportMetric(pickup.Seconds()/n/pickupGoal.Seconds(), "pickup/goal")
			b.ReportMetric(gone.Seconds()/n/pickupGoal.Seconds(), "stop/goal")
		})
	}
}

// lastCall waits until gone has served no call for a full pickupGoal and
// returns when it served its last one (start if none came after it).
func lastCall(ctx context.Context, b *testing.B, gone *balancertest.Backend, start time.Time) time.Time {
	last, n := start, gone.Calls()
	for time.Since(last) < pickupGoal {
		if ctx.Err() != nil {
			b.Fatalf("%s still called: %v", gone.Name, ctx.Err())
		}
		time.Sleep(5 * time.Millisecond)
		if m := gone.Calls(); m != n {
			last, n = time.Now(), m
		}
	}
	return last
}

// BenchmarkKubernetesRestart kills and restarts istiod (xds) or CoreDNS
// (headless), or stops and starts kube-apiserver (endpointslice), under
// load, b.N times, and reports the calls that failed even after one retry
// on Unavailable (goal 0) and the restart's duration.
func BenchmarkKubernetesRestart(b *testing.B) {
	for _, tc := range []struct {
		name    string
		h       balancertest.Harness
		restart func(ctx context.Context) error
	}{
		{"xds-istiod-kubernetes", xdsHarness, func(ctx context.Context) error { d := shared.istiod; d.Kill(); return d.Start(ctx) }},
		{"headless-coredns", headlessHarness, func(ctx context.Context) error { d := shared.dns; d.Kill(); return d.Start(ctx) }},
		{"endpointslice", endpointsliceHarness, func(ctx context.Context) error { c := shared.cluster; c.StopAPIServer(); return c.StartAPIServer(ctx) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			bs := balancertest.StartBackendsAt(b, podHosts(3))
			s := tc.h(b, bs)
			conn := balancertest.Dial(b, s.Strategy, s.Addr)
			if err := calltest.WaitServed(ctx, conn, bs); err != nil {
				b.Fatal(err)
			}
			stop := balancertest.Load(ctx, conn, 4)
			var took time.Duration
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				if err := tc.restart(ctx); err != nil {
					b.Fatal(err)
				}
				took += time.Since(start)
			}
			b.StopTimer()
			// Calls go on for one more pickup goal after the last restart.
			time.Sleep(pickupGoal)
			b.ReportMetric(float64(stop()), "failed-calls")
			b.ReportMetric(took.Seconds()/float64(b.N), "restart-s")
		})
	}
}
