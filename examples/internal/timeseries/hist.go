package timeseries

import (
	"math"
	"math/bits"
	"time"
)

// The histogram splits each power-of-two range of nanoseconds into
// subBuckets equal buckets, so a bucket is at most 1/subBuckets of its
// lower bound wide and its midpoint is within half that of any value in it.
const (
	subBits    = 4
	subBuckets = 1 << subBits
	maxOctave  = 40 // values at or above 2^40 ns (about 18 min) share the last bucket
	nBuckets   = subBuckets + (maxOctave-subBits)*subBuckets
)

// Resolution is the largest relative error of a latency quantile the
// Recorder reports: the value it returns is within Resolution × v of the
// latency v of the call of that rank (exactly v below 16 ns; latencies of
// 18 minutes or more are not told apart).
const Resolution = 1.0 / (2 * subBuckets)

// hist counts latencies in log-linear buckets.
type hist [nBuckets]uint32

// bucket returns the index of the bucket that holds d.
func bucket(d time.Duration) int {
	if d < subBuckets {
		return max(int(d), 0)
	}
	v := uint64(d)
	k := bits.Len64(v) - 1 // v is in [2^k, 2^(k+1))
	if k >= maxOctave {
		return nBuckets - 1
	}
	sub := int(v>>(k-subBits)) - subBuckets
	return subBuckets + (k-subBits)*subBuckets + sub
}

// value returns the midpoint of bucket i, the latency it stands for.
func value(i int) time.Duration {
	if i < subBuckets {
		return time.Duration(i)
	}
	k := (i-subBuckets)/subBuckets + subBits
	sub := (i - subBuckets) % subBuckets
	width := uint64(1) << (k - subBits)
	lower := uint64(subBuckets+sub) * width
	return time.Duration(lower + width/2)
}

// addTo adds h's counts to sum.
func (h *hist) addTo(sum *hist) {
	for i, n := range h {
		sum[i] += n
	}
}

// quantile returns the latency of rank ⌈q·n⌉ of the n latencies counted
// (the nearest-rank quantile), 0 when there are none.
func (h *hist) quantile(q float64, n int) time.Duration {
	if n == 0 {
		return 0
	}
	rank := rankOf(q, n)
	seen := 0
	for i, c := range h {
		seen += int(c)
		if seen >= rank {
			return value(i)
		}
	}
	return value(nBuckets - 1)
}

// rankOf is the 1-based nearest rank of quantile q among n values.
func rankOf(q float64, n int) int {
	r := int(math.Ceil(q*float64(n) - 1e-9)) // 0.99*100 is 99.00000000000001
	return min(max(r, 1), n)
}
