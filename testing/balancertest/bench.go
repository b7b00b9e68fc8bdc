package balancertest

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/calltest"
)

// benchTimeout bounds every wait of a benchmark iteration.
const benchTimeout = 20 * time.Second

func benchContext(b *testing.B) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	b.Cleanup(cancel)
	return ctx
}

// BenchSpread makes b.N calls over 3 backends and reports the largest
// per-backend share divided by the smallest as "max/min-share" (1 is a
// perfect spread).
func BenchSpread(b *testing.B, h Harness) { BenchSpreadOn(b, nil, h) }

// BenchSpreadOn is BenchSpread with the backends on hosts (see RunOn).
func BenchSpreadOn(b *testing.B, hosts []string, h Harness) {
	ctx := benchContext(b)
	bs := startBackends(b, hosts, 3)
	conn := dial(b, h(b, bs))
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		b.Fatalf("waiting for every backend to serve a call: %v", err)
	}
	before := calltest.Counts(bs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := calltest.GetTicket(ctx, conn); err != nil {
			b.Fatalf("call %d: %v", i, err)
		}
	}
	b.StopTimer()
	d := calltest.Deltas(bs, before)
	if lo := slices.Min(d); lo > 0 {
		b.ReportMetric(float64(slices.Max(d))/float64(lo), "max/min-share")
	}
}

// Load runs callers goroutines that make idempotent calls (one retry on
// Unavailable) on c until the returned stop is called, which returns how
// many calls failed even after their retry.
func Load(ctx context.Context, c grpc.ClientConnInterface, callers int) func() (failed int64) {
	ctx, cancel := context.WithCancel(ctx)
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
	)
	for range callers {
		wg.Go(func() {
			for ctx.Err() == nil {
				if _, _, err := calltest.GetTicketRetry(ctx, c); err != nil && ctx.Err() == nil {
					failed.Add(1)
				}
			}
		})
	}
	return func() int64 {
		cancel()
		wg.Wait()
		return failed.Load()
	}
}

// BenchScaleUp adds a 4th backend to 3 under load and reports how long it
// took until the new backend served its first call, averaged over b.N
// additions, as "pickup-s". Each iteration first removes the 4th backend
// again and waits until it no longer gets calls. A strategy that does not
// pick the backend up within 10 s fails the benchmark.
func BenchScaleUp(b *testing.B, h Harness) { BenchScaleUpOn(b, nil, h) }

// BenchScaleUpOn is BenchScaleUp with the backends on hosts (see RunOn).
func BenchScaleUpOn(b *testing.B, hosts []string, h Harness) {
	ctx := benchContext(b)
	all := startBackends(b, hosts, 4)
	s := h(b, all[:3])
	if s.SetBackends == nil {
		b.Fatalf("balancertest: BenchScaleUp needs Setup.SetBackends")
	}
	conn := dial(b, s)
	if err := calltest.WaitServed(ctx, conn, all[:3]); err != nil {
		b.Fatalf("waiting for every backend to serve a call: %v", err)
	}
	stop := Load(ctx, conn, 4)
	defer stop()
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s.SetBackends(b, all[:3])
		if err := waitNotServed(ctx, conn, all[3], 30); err != nil {
			b.Fatalf("removing %s: %v", all[3].Name, err)
		}
		b.StartTimer()
		d, ok := pickup(ctx, b, s, all, 10*time.Second)
		if !ok {
			b.Fatalf("%s served no call within %v of being added", all[3].Name, d)
		}
		total += d
	}
	b.StopTimer()
	b.ReportMetric(total.Seconds()/float64(b.N), "pickup-s")
}

// pickup makes discovery return all backends and waits, while load runs,
// until the last one serves a call or window passes.
func pickup(ctx context.Context, b *testing.B, s Setup, all []*Backend, window time.Duration) (time.Duration, bool) {
	added := all[len(all)-1]
	base := added.Calls()
	start := time.Now()
	s.SetBackends(b, all)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	deadline := time.NewTimer(window)
	defer deadline.Stop()
	for added.Calls() == base {
		select {
		case <-tick.C:
		case <-deadline.C:
			return time.Since(start), false
		case <-ctx.Done():
			return time.Since(start), false
		}
	}
	return time.Since(start), true
}

// BenchFailover kills 1 of 3 backends while 4 callers make idempotent calls
// on the strategy's connection with one retry on Unavailable, and reports the
// calls that failed even after their retry, summed over b.N kills, as
// "failed-idempotent-calls". It checks the strategy alone; the figure a user
// gets (omclient.Frontend's retry policy, recovery of the call rate) is
// omclient's BenchmarkFailover. Each iteration restarts the backend and waits
// until it serves calls again before the next kill; that wait is not timed.
func BenchFailover(b *testing.B, h Harness) { BenchFailoverOn(b, nil, h) }

// BenchFailoverOn is BenchFailover with the backends on hosts (see RunOn).
func BenchFailoverOn(b *testing.B, hosts []string, h Harness) {
	ctx := benchContext(b)
	bs := startBackends(b, hosts, 3)
	conn := dial(b, h(b, bs))
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		b.Fatalf("waiting for every backend to serve a call: %v", err)
	}
	var failed int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		victim := bs[i%len(bs)]
		stop := Load(ctx, conn, 4)
		if err := calltest.WaitServed(ctx, conn, bs); err != nil {
			stop()
			b.Fatalf("before killing %s: %v", victim.Name, err)
		}
		victim.Stop()
		err := waitNotServed(ctx, conn, victim, 100)
		failed += stop()
		if err != nil {
			b.Fatalf("after killing %s: %v", victim.Name, err)
		}
		b.StopTimer()
		victim.Restart(b)
		if err := calltest.WaitServed(ctx, conn, []*Backend{victim}); err != nil {
			b.Fatalf("after restarting %s: %v", victim.Name, err)
		}
		b.StartTimer()
	}
	b.StopTimer()
	b.ReportMetric(float64(failed), "failed-idempotent-calls")
}
