package omtest

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"
)

// Clock tells the core what time it is. Every timeout of the core (pending
// release, assigned-ticket deletion, backfill expiry) is measured with it.
// The synchronizer's registration and proposal windows are measured with it
// too when it is a FakeClock; any other Clock times them on the system clock.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// timerClock is implemented by clocks that run their own timers (FakeClock).
type timerClock interface {
	afterFunc(d time.Duration, fn func()) (stop func() bool)
}

// afterFunc calls fn once d has passed on c, in its own goroutine for the
// system clock and inside Advance for a FakeClock. fn must not block.
func afterFunc(c Clock, d time.Duration, fn func()) (stop func() bool) {
	if tc, ok := c.(timerClock); ok {
		return tc.afterFunc(d, fn)
	}
	return time.AfterFunc(d, fn).Stop
}

// advanceNotifier is implemented by clocks that jump: a core subscribes so it
// can re-evaluate expirations as soon as time moves.
type advanceNotifier interface {
	subscribe(fn func()) (unsubscribe func())
}

// FakeClock is a Clock that moves only when told to. Advancing it wakes every
// core using it, so expirations (for example an assigned ticket being deleted,
// which ends WatchAssignments with NotFound) happen at once, without sleeping.
// It is safe for concurrent use.
//
// The synchronizer's windows are timers on the clock: a FetchMatches call on
// a core with a FakeClock waits until the test advances the clock past the
// registration window (WaitForTimers tells when a cycle has started one).
type FakeClock struct {
	mu        sync.Mutex
	now       time.Time
	nextID    int
	listeners map[int]func()
	timers    map[int]fakeTimer
	changed   chan struct{} // closed and replaced when a timer is added
}

type fakeTimer struct {
	at time.Time
	fn func()
}

// NewFakeClock returns a FakeClock reading t.
func NewFakeClock(t time.Time) *FakeClock {
	return &FakeClock{
		now: t, listeners: make(map[int]func()),
		timers: make(map[int]fakeTimer), changed: make(chan struct{}),
	}
}

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d, fires the timers that are due and
// notifies the cores using it.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	c.fire()
	c.notify()
}

// Set moves the clock to t, fires the timers that are due and notifies the
// cores using it.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
	c.fire()
	c.notify()
}

// WaitForTimers blocks until at least n timers are pending on the clock (a
// synchronizer cycle holds one: its registration window, then its proposal
// window), or until ctx is done.
func (c *FakeClock) WaitForTimers(ctx context.Context, n int) error {
	for {
		c.mu.Lock()
		pending, changed := len(c.timers), c.changed
		c.mu.Unlock()
		if pending >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("omtest: waiting for %d timers (%d pending): %w", n, pending, ctx.Err())
		}
	}
}

func (c *FakeClock) afterFunc(d time.Duration, fn func()) func() bool {
	c.mu.Lock()
	id := c.nextID
	c.nextID++
	c.timers[id] = fakeTimer{at: c.now.Add(d), fn: fn}
	close(c.changed)
	c.changed = make(chan struct{})
	c.mu.Unlock()
	if d <= 0 {
		c.fire()
	}
	return func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		_, ok := c.timers[id]
		delete(c.timers, id)
		return ok
	}
}

// fire runs every due timer, earliest first, outside the lock.
func (c *FakeClock) fire() {
	c.mu.Lock()
	var due []fakeTimer
	for id, t := range c.timers {
		if !t.at.After(c.now) {
			due = append(due, t)
			delete(c.timers, id)
		}
	}
	c.mu.Unlock()
	sort.Slice(due, func(i, j int) bool { return due[i].at.Before(due[j].at) })
	for _, t := range due {
		t.fn()
	}
}

func (c *FakeClock) notify() {
	c.mu.Lock()
	fns := make([]func(), 0, len(c.listeners))
	for _, fn := range c.listeners {
		fns = append(fns, fn)
	}
	c.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

func (c *FakeClock) subscribe(fn func()) func() {
	c.mu.Lock()
	defer c.mu.Unlock()
	id := c.nextID
	c.nextID++
	c.listeners[id] = fn
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		delete(c.listeners, id)
	}
}
