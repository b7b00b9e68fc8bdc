package timeseries_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/examples/internal/timeseries"
)

var t0 = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// at returns t0 plus d.
func at(d time.Duration) time.Time { return t0.Add(d) }

// TestObserveConcurrent: calls observed from many goroutines at once are all
// counted, per second and per method.
func TestObserveConcurrent(t *testing.T) {
	r := timeseries.New(t0)
	const goroutines, calls = 16, 500
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range calls {
				code := codes.OK
				if i%10 == 0 {
					code = codes.Unavailable
				}
				r.Observe(at(time.Duration(i%3)*time.Second), "/m/"+string(rune('A'+g%2)), code, time.Millisecond)
			}
		})
	}
	wg.Wait()
	secs := r.Seconds()
	require.Len(t, secs, 3)
	total, errs := 0, 0
	for _, s := range secs {
		total += s.Calls
		errs += s.ErrorCount()
	}
	assert.Equal(t, goroutines*calls, total, "calls over all seconds")
	assert.Equal(t, goroutines*calls/10, errs, "errors over all seconds")
	byMethod := r.ByMethod()
	assert.Equal(t, goroutines/2*calls*9/10, byMethod["/m/A"][codes.OK], "OK calls of /m/A")
	assert.Equal(t, goroutines/2*calls/10, byMethod["/m/B"][codes.Unavailable], "Unavailable calls of /m/B")
}

// TestSecondEdges: a call belongs to the whole second since the start it
// completed in; one a nanosecond before a second's edge is in the earlier
// second, and one before the start is in second 0.
func TestSecondEdges(t *testing.T) {
	r := timeseries.New(t0)
	for _, d := range []time.Duration{-time.Second, 0, time.Second - 1, time.Second, 2*time.Second - 1, 2 * time.Second} {
		r.Observe(at(d), "/m", codes.OK, time.Millisecond)
	}
	var got []int
	for _, s := range r.Seconds() {
		got = append(got, s.Calls)
	}
	assert.Equal(t, []int{3, 2, 1}, got, "calls per second")
}

// TestGapsAreZeroRows: seconds without calls between observed ones are rows
// of zeros, with the offsets in order, the strategy carried forward and the
// faults that overlap them.
func TestGapsAreZeroRows(t *testing.T) {
	r := timeseries.New(t0)
	assert.Nil(t, r.Seconds(), "Seconds() before any call")
	r.SetStrategy(at(0), "headless")
	r.Observe(at(500*time.Millisecond), "/m", codes.OK, time.Millisecond)
	r.Mark(timeseries.Fault{Kind: "kill", Target: "core-1", Start: at(1500 * time.Millisecond), End: at(3 * time.Second)})
	r.SetStrategy(at(3*time.Second+time.Millisecond), "xds")
	r.Observe(at(4*time.Second), "/m", codes.Unavailable, time.Millisecond)
	secs := r.Seconds()
	require.Len(t, secs, 5)
	for i, s := range secs {
		assert.Equal(t, time.Duration(i)*time.Second, s.At, "secs[%d].At", i)
	}
	for _, i := range []int{1, 2, 3} {
		assert.Zero(t, secs[i].Calls, "secs[%d].Calls", i)
		assert.Nil(t, secs[i].Errors, "secs[%d].Errors", i)
		assert.Zero(t, secs[i].P99, "secs[%d].P99", i)
	}
	var strategies []string
	var faults [][]string
	for _, s := range secs {
		strategies = append(strategies, s.Strategy)
		faults = append(faults, s.Faults)
	}
	assert.Equal(t, []string{"headless", "headless", "headless", "xds", "xds"}, strategies)
	assert.Equal(t, [][]string{nil, {"kill core-1"}, {"kill core-1"}, nil, nil}, faults, "a window [1.5s, 3s) overlaps seconds 1 and 2")
	assert.Equal(t, map[codes.Code]int{codes.Unavailable: 1}, secs[4].Errors)
}

// TestMarkClosesOpenWindow: an open window overlaps every second from its
// start, and marking it again with an end closes it.
func TestMarkClosesOpenWindow(t *testing.T) {
	r := timeseries.New(t0)
	for s := range 4 {
		r.Observe(at(time.Duration(s)*time.Second), "/m", codes.OK, time.Millisecond)
	}
	f := timeseries.Fault{Kind: "partition", Target: "mmf", Start: at(time.Second)}
	r.Mark(f)
	faulted := func() []time.Duration {
		var out []time.Duration
		for _, s := range r.Seconds() {
			if len(s.Faults) > 0 {
				out = append(out, s.At)
			}
		}
		return out
	}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, faulted(), "seconds of the open window")
	f.End = at(2 * time.Second)
	r.Mark(f)
	assert.Equal(t, []time.Duration{time.Second}, faulted(), "seconds of the closed window")
	assert.Equal(t, []timeseries.Fault{f}, r.Faults())
}

// exact returns the nearest-rank q-quantile of ds.
func exact(q float64, ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	rank := int(math.Ceil(q*float64(len(s)) - 1e-9))
	return s[max(rank, 1)-1]
}

// within asserts that got is within the Recorder's Resolution of want.
func within(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	if diff := float64(got - want); diff > timeseries.Resolution*float64(want) || -diff > timeseries.Resolution*float64(want) {
		t.Errorf("%s = %v, want %v within %.4f (%v)", what, got, want, timeseries.Resolution, time.Duration(timeseries.Resolution*float64(want)))
	}
}

// TestPerSecondQuantiles: each second's P50 and P99 are within Resolution
// of the exact quantiles of its latencies, spread over six decades.
func TestPerSecondQuantiles(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := timeseries.New(t0)
	lat := make([][]time.Duration, 5)
	for s := range lat {
		for i := range 1000 + 300*s {
			d := time.Duration(float64(time.Microsecond) * math.Pow(10, rng.Float64()*6))
			lat[s] = append(lat[s], d)
			r.Observe(at(time.Duration(s)*time.Second+time.Duration(i)*time.Microsecond), "/m", codes.OK, d)
		}
	}
	secs := r.Seconds()
	require.Len(t, secs, len(lat))
	for s, ds := range lat {
		within(t, "P50 of second "+string(rune('0'+s)), secs[s].P50, exact(0.5, ds))
		within(t, "P99 of second "+string(rune('0'+s)), secs[s].P99, exact(0.99, ds))
	}
}

// TestQuantileOverWindow: Quantile merges the seconds overlapping the
// window, and only those.
func TestQuantileOverWindow(t *testing.T) {
	r := timeseries.New(t0)
	var inside []time.Duration
	for s := range 10 {
		base := time.Millisecond
		if s >= 3 && s < 6 {
			base = 100 * time.Millisecond // slow seconds 3, 4, 5
		}
		for i := range 100 {
			d := base + time.Duration(i)*base/100
			if s >= 3 && s < 6 {
				inside = append(inside, d)
			}
			r.Observe(at(time.Duration(s)*time.Second), "/m", codes.OK, d)
		}
	}
	within(t, "Quantile(0.99, 3s, 6s)", r.Quantile(0.99, at(3*time.Second), at(6*time.Second)), exact(0.99, inside))
	within(t, "Quantile(0.01, 3.5s, 5.5s)", r.Quantile(0.01, at(3500*time.Millisecond), at(5500*time.Millisecond)), exact(0.01, inside))
	if got := r.Quantile(0.99, at(6*time.Second), at(10*time.Second)); got > 2*time.Millisecond*105/100 {
		t.Errorf("Quantile(0.99, 6s, 10s) = %v, want the fast seconds' ~2ms", got)
	}
	assert.Zero(t, r.Quantile(0.99, at(20*time.Second), at(30*time.Second)), "Quantile over seconds without calls")
}

// rated returns a Recorder with rate[s] calls in second s.
func rated(rate []int) *timeseries.Recorder {
	r := timeseries.New(t0)
	for s, n := range rate {
		for i := range n {
			r.Observe(at(time.Duration(s)*time.Second+time.Duration(i)*time.Second/time.Duration(n)), "/m", codes.OK, time.Millisecond)
		}
	}
	return r
}

func TestRecovery(t *testing.T) {
	// 100/s for 10 s, 10/s during a fault [10s, 15s), then a ramp back.
	rate := []int{100, 100, 100, 100, 100, 100, 100, 100, 100, 100, 10, 10, 10, 10, 10, 40, 70, 95, 100, 100}
	for _, tc := range []struct {
		name   string
		rate   []int
		t      time.Duration
		frac   float64
		want   time.Duration
		wantOK bool
	}{
		{name: "back at 90% in second 17", rate: rate, t: 15 * time.Second, frac: 0.9, want: 2 * time.Second, wantOK: true},
		{name: "back at 50% in second 16", rate: rate, t: 15 * time.Second, frac: 0.5, want: time.Second, wantOK: true},
		{name: "mid-second fault end", rate: rate, t: 15500 * time.Millisecond, frac: 0.9, want: 1500 * time.Millisecond, wantOK: true},
		{name: "already back in the second of t", rate: rate, t: 18*time.Second + 200*time.Millisecond, frac: 1, want: 0, wantOK: true},
		{name: "never back", rate: rate[:17], t: 15 * time.Second, frac: 0.9, wantOK: false},
		{name: "no baseline", rate: append([]int{0, 0}, rate[10:]...), t: 5 * time.Second, frac: 0.9, wantOK: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			since := 10 * time.Second
			if tc.name == "no baseline" {
				since = 2 * time.Second
			}
			d, ok := rated(tc.rate).Recovery(at(since), at(tc.t), 10*time.Second, tc.frac)
			assert.Equal(t, tc.wantOK, ok, "ok")
			if tc.wantOK {
				assert.Equal(t, tc.want, d, "Recovery(…, frac %v)", tc.frac)
			}
		})
	}
}

// TestByMethodCountsOK: ByMethod counts every code, OK included, and its
// result is a copy.
func TestByMethodCountsOK(t *testing.T) {
	r := timeseries.New(t0)
	r.Observe(t0, "/a.B/C", codes.OK, time.Millisecond)
	r.Observe(t0, "/a.B/C", codes.OK, time.Millisecond)
	r.Observe(t0, "/a.B/C", codes.DeadlineExceeded, time.Second)
	r.Observe(t0, "/a.B/D", codes.Unavailable, time.Millisecond)
	want := map[string]map[codes.Code]int{
		"/a.B/C": {codes.OK: 2, codes.DeadlineExceeded: 1},
		"/a.B/D": {codes.Unavailable: 1},
	}
	got := r.ByMethod()
	assert.Equal(t, want, got)
	got["/a.B/C"][codes.OK] = 100
	assert.Equal(t, want, r.ByMethod(), "ByMethod after changing an earlier result")
}
