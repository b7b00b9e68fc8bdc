package omtest

import (
	"sync"
	"time"
)

// Clock tells the core what time it is. Every timeout of the core (pending
// release, assigned-ticket deletion, backfill expiry) is measured with it.
type Clock interface {
	Now() time.Time
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// advanceNotifier is implemented by clocks that jump: a core subscribes so it
// can re-evaluate expirations as soon as time moves.
type advanceNotifier interface {
	subscribe(fn func()) (unsubscribe func())
}

// FakeClock is a Clock that moves only when told to. Advancing it wakes every
// core using it, so expirations (for example an assigned ticket being deleted,
// which ends WatchAssignments with NotFound) happen at once, without sleeping.
// It is safe for concurrent use.
type FakeClock struct {
	mu        sync.Mutex
	now       time.Time
	nextID    int
	listeners map[int]func()
}

// NewFakeClock returns a FakeClock reading t.
func NewFakeClock(t time.Time) *FakeClock {
	return &FakeClock{now: t, listeners: make(map[int]func())}
}

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d and notifies the cores using it.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
	c.notify()
}

// Set moves the clock to t and notifies the cores using it.
func (c *FakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
	c.notify()
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
