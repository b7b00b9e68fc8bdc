package timeseries

import "time"

// span returns the seconds overlapping [from, to), clipped to those recorded.
func (r *Recorder) span(from, to time.Time) (lo, hi int) {
	lo = r.sec(from)
	hi = r.sec(to)
	if r.start.Add(time.Duration(hi) * time.Second).Before(to) {
		hi++ // to is inside second hi, which overlaps
	}
	return lo, min(hi, len(r.secs))
}

// Quantile returns the q-quantile (0.99 for p99) of the latencies of the
// calls completed in the seconds overlapping [from, to), within Resolution;
// 0 when there were none.
func (r *Recorder) Quantile(q float64, from, to time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	lo, hi := r.span(from, to)
	var sum hist
	n := 0
	for s := lo; s < hi; s++ {
		if b := r.secs[s]; b.lat != nil {
			b.lat.addTo(&sum)
			n += b.calls
		}
	}
	return sum.quantile(q, n)
}

// Recovery measures how long the call rate took to come back after a
// fault. The baseline is the mean calls per second of the seconds
// overlapping [since-before, since), the span before the fault began at
// since; Recovery returns the time from t (the fault's end, say) to the
// start of the first second, from the one holding t on, with at least frac
// × baseline calls, or 0 if that is the second holding t. It reports false
// when the baseline has no calls or no later second reaches the mark.
// The resolution is one second.
func (r *Recorder) Recovery(since, t time.Time, before time.Duration, frac float64) (time.Duration, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lo, hi := r.span(since.Add(-before), since)
	total := 0
	for s := lo; s < hi; s++ {
		total += r.secs[s].calls
	}
	if total == 0 {
		return 0, false
	}
	mark := frac * float64(total) / float64(hi-lo)
	for s := r.sec(t); s < len(r.secs); s++ {
		if float64(r.secs[s].calls) >= mark {
			at := r.start.Add(time.Duration(s) * time.Second)
			return max(at.Sub(t), 0), true
		}
	}
	return 0, false
}
