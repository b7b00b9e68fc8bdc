// Package counter is a count of events that tests can wait on, shared by the
// fakes in testing/... so that "wait until the fake has seen n queries" is
// an event, not a poll.
package counter

import (
	"context"
	"sync"
)

// Counter counts events. The zero value is ready to use and safe for
// concurrent use.
type Counter struct {
	mu   sync.Mutex
	n    int64
	seen chan struct{} // closed and replaced on every Add
}

// Add records one event.
func (c *Counter) Add() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n++
	if c.seen != nil {
		close(c.seen)
		c.seen = nil
	}
}

// Load returns the number of events so far.
func (c *Counter) Load() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n
}

// Wait waits until at least n events happened or ctx is done. It returns the
// count it last saw, and ctx's error when it gave up.
func (c *Counter) Wait(ctx context.Context, n int64) (int64, error) {
	for {
		c.mu.Lock()
		got := c.n
		if c.seen == nil {
			c.seen = make(chan struct{})
		}
		seen := c.seen
		c.mu.Unlock()
		if got >= n {
			return got, nil
		}
		select {
		case <-seen:
		case <-ctx.Done():
			return got, ctx.Err()
		}
	}
}
