package omclient_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

const (
	// failoverCallers is how many goroutines call at once.
	failoverCallers = 8
	// failoverCallTimeout is each call's deadline, the caller's own bound
	// on the SDK's retries.
	failoverCallTimeout = 5 * time.Second
	// preKillWindow is how long the call rate is measured before the kill.
	preKillWindow = time.Second
	// rateWindow is the sliding window over which the survivors' rate is
	// compared with the pre-kill rate after the kill; it is also the
	// resolution of recovery-s.
	rateWindow = 50 * time.Millisecond
	// recoveredShare is the part of the pre-kill rate the survivors must
	// carry to count as recovered (the rest is the noise of a shared machine).
	recoveredShare = 0.9
	// recoveryLimit bounds the wait for recovery; past it the iteration's
	// recovery is reported as not measured.
	recoveryLimit = 5 * time.Second
)

// BenchmarkFailover kills 1 of 3 backends while failoverCallers goroutines
// call GetTicket through omclient.Frontend with its default retry policy and
// the strategy's default intervals, each call under a 5 s deadline. It
// reports the calls that returned an error, summed over b.N kills
// ("failed-calls"), and the longest time from a kill until the two surviving
// backends served calls at recoveredShare of the pre-kill rate of all three
// over a rateWindow ("recovery-s", the end of that window). When some
// kill did not recover within recoveryLimit, recovery-s is left out and the
// benchmark logs it. "prekill-calls/s" is the rate that had to be regained.
func BenchmarkFailover(b *testing.B) {
	for _, st := range benchStrategies {
		b.Run(st.name, func(b *testing.B) { benchFailover(b, st) })
	}
}

func benchFailover(b *testing.B, st benchStrategy) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	bs := balancertest.StartBackends(b, 3)
	s, addr := st.build(b, bs)
	c, err := omclient.NewConn(addr, omclient.WithStrategy(s))
	if err != nil {
		b.Fatalf("NewConn(%q) = %v", addr, err)
	}
	defer c.Close()
	fe := omclient.NewFrontend(c)
	var (
		failed, calls int64
		worst         time.Duration
		rates         []float64
		unrecovered   int
	)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r := killOne(ctx, b, fe, bs, bs[i%len(bs)])
		failed += r.failed
		calls += r.calls
		rates = append(rates, r.preRate)
		if !r.recovered {
			unrecovered++
			b.Logf("kill %d: survivors did not carry %.0f%% of %.0f calls/s within %v", i, recoveredShare*100, r.preRate, recoveryLimit)
		}
		worst = max(worst, r.recovery)
	}
	b.StopTimer()
	b.ReportMetric(float64(failed), "failed-calls")
	b.ReportMetric(float64(calls), "calls")
	b.ReportMetric(slices.Min(rates), "prekill-calls/s")
	if unrecovered == 0 {
		b.ReportMetric(worst.Seconds(), "recovery-s")
	}
}

// killResult is what one kill measured.
type killResult struct {
	failed, calls int64
	preRate       float64 // calls/s over all backends before the kill
	recovery      time.Duration
	recovered     bool
}

// killOne runs the load, measures the rate, kills victim, waits for the
// survivors to recover, stops the load and restarts victim.
func killOne(ctx context.Context, b *testing.B, fe *omclient.Frontend, bs []*balancertest.Backend, victim *balancertest.Backend) killResult {
	stop := startLoad(ctx, fe, failoverCallers)
	waitServedB(ctx, b, fe, bs)
	var r killResult
	r.preRate = rateOver(ctx, bs, preKillWindow)
	survivors := slices.DeleteFunc(slices.Clone(bs), func(bk *balancertest.Backend) bool { return bk == victim })
	killed := time.Now()
	victim.Stop()
	r.recovery, r.recovered = waitRate(ctx, survivors, killed, recoveredShare*r.preRate)
	r.failed, r.calls = stop()
	b.StopTimer()
	victim.Restart(b)
	waitServedB(ctx, b, fe, []*balancertest.Backend{victim})
	b.StartTimer()
	return r
}

// startLoad runs callers goroutines calling GetTicket until the returned stop
// is called, which reports how many calls failed and how many were made.
// Calls cut short by stop itself are not counted.
func startLoad(ctx context.Context, fe *omclient.Frontend, callers int) func() (failed, calls int64) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	var failed, calls atomic.Int64
	for range callers {
		wg.Go(func() {
			for ctx.Err() == nil {
				cctx, ccancel := context.WithTimeout(ctx, failoverCallTimeout)
				_, err := fe.GetTicket(cctx, "t")
				ccancel()
				if ctx.Err() != nil {
					return
				}
				calls.Add(1)
				if err != nil {
					failed.Add(1)
				}
			}
		})
	}
	return func() (int64, int64) {
		cancel()
		wg.Wait()
		return failed.Load(), calls.Load()
	}
}

// sumCalls is the number of calls the backends served together.
func sumCalls(bs []*balancertest.Backend) int64 {
	var n int64
	for _, c := range calltest.Counts(bs) {
		n += c
	}
	return n
}

// rateOver returns the calls per second bs served together over d.
func rateOver(ctx context.Context, bs []*balancertest.Backend, d time.Duration) float64 {
	before, start := sumCalls(bs), time.Now()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return float64(sumCalls(bs)-before) / time.Since(start).Seconds()
}

// sample is the survivors' call count at one instant.
type sample struct {
	at    time.Time
	calls int64
}

// waitRate samples the survivors' calls every 10 ms until their rate over
// the last rateWindow reaches want, and returns the time from since to the
// end of that window. It gives up after recoveryLimit.
func waitRate(ctx context.Context, survivors []*balancertest.Backend, since time.Time, want float64) (time.Duration, bool) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	samples := []sample{{at: since, calls: sumCalls(survivors)}}
	for time.Since(since) < recoveryLimit && ctx.Err() == nil {
		<-tick.C
		now := sample{at: time.Now(), calls: sumCalls(survivors)}
		samples = append(samples, now)
		for len(samples) > 2 && now.at.Sub(samples[1].at) >= rateWindow {
			samples = samples[1:]
		}
		first := samples[0]
		if d := now.at.Sub(first.at); d >= rateWindow && float64(now.calls-first.calls)/d.Seconds() >= want {
			return now.at.Sub(since), true
		}
	}
	return time.Since(since), false
}

// waitServedB calls until every backend in want served a call, or fails b.
func waitServedB(ctx context.Context, b *testing.B, fe *omclient.Frontend, want []*balancertest.Backend) {
	b.Helper()
	wctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	before := calltest.Counts(want)
	for slices.Min(calltest.Deltas(want, before)) == 0 {
		if _, err := fe.GetTicket(wctx, "t"); err != nil && wctx.Err() != nil {
			b.Fatalf("waiting for every backend to serve a call: %v (served %v)", err, calltest.Deltas(want, before))
		}
	}
}
