// Package progress counts what the examples' players and director do, prints
// it periodically and summarises assignment latencies.
package progress

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Counters are the running totals of a matchmaking run. The zero value is
// ready; all fields are safe for concurrent use.
type Counters struct {
	Created  atomic.Int64 // tickets created
	Matched  atomic.Int64 // tickets in matches the director received
	Assigned atomic.Int64 // assignments seen by the players' watches
	Released atomic.Int64 // tickets the director handed back
	Rounds   atomic.Int64 // director rounds completed
}

// String formats the counters as one progress line.
func (c *Counters) String() string {
	return fmt.Sprintf("created %d  matched %d  assigned %d  released %d  rounds %d",
		c.Created.Load(), c.Matched.Load(), c.Assigned.Load(), c.Released.Load(), c.Rounds.Load())
}

// Every writes line() to w every interval, prefixed with the time since it
// started, until the returned stop function is called. stop waits for the
// writer goroutine and is idempotent.
func Every(w io.Writer, interval time.Duration, line func() string) (stop func()) {
	start := time.Now()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				fmt.Fprintf(w, "[%5.1fs] %s\n", now.Sub(start).Seconds(), line())
			}
		}
	})
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

// Percentile returns the p-th percentile (0 < p ≤ 100) of ds by the
// nearest-rank method, or 0 for no values.
func Percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(ds))
	rank := int(math.Ceil(p / 100 * float64(len(s))))
	return s[min(max(rank, 1), len(s))-1]
}
