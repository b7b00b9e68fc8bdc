package auto_test

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/connectivity"

	"github.com/meshmatch/meshmatch/internal/auto"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// flapping is a connection over strategies a and b, each on its own
// backend, for tests that stop and restart a's backend.
type flapping struct {
	bs   []*balancertest.Backend
	a, b *backend
	conn *auto.Conn
	decs decisions
	next int // index of the next decision to wait for
}

// newFlapping starts the connection and waits until it uses a. onClose runs
// after every Close of a strategy's connection, with the connection as its
// argument. Gate and Stable are longer than Redetect, so that whenever calls
// move down from a, a has been dialed for longer than Redetect and the last
// re-detection deadline set while b was in use has passed.
func newFlapping(t *testing.T, ctx context.Context, onClose func(conn *auto.Conn, name string)) *flapping {
	f := &flapping{bs: balancertest.StartBackends(t, 2)}
	var conn atomic.Pointer[auto.Conn]
	hook := func(name string) {
		if c := conn.Load(); c != nil && onClose != nil {
			onClose(c, name)
		}
	}
	f.a = &backend{name: "a", b: f.bs[0], onClose: hook}
	f.b = &backend{name: "b", b: f.bs[1], onClose: hook}
	f.conn = newConn(t, &f.decs, 2*testRedetect, 2*testRedetect, f.a, f.b)
	conn.Store(f.conn)
	f.next = f.decs.wait(t, ctx, 0, auto.KindDetected, "a") + 1
	return f
}

// round stops a's backend, waits for calls to move down to b, restarts it
// and waits for calls to move back up.
func (f *flapping) round(t *testing.T, ctx context.Context) {
	f.bs[0].Stop()
	f.next = f.decs.wait(t, ctx, f.next, auto.KindMoveDown, "b") + 1
	f.bs[0].Restart(t)
	f.next = f.decs.wait(t, ctx, f.next, auto.KindMoveUp, "a") + 1
}

// TestStateNeverShutdownBeforeClose: through rounds of a going down and
// coming back, GetState never returns SHUTDOWN and WaitForStateChange never
// reports a change to it before Close, not even at the moment a strategy's
// connection is closed.
func TestStateNeverShutdownBeforeClose(t *testing.T) {
	ctx := testContext(t)
	var closing atomic.Bool
	var mu sync.Mutex
	var atClose []string // strategies whose Close left GetState at SHUTDOWN
	f := newFlapping(t, ctx, func(conn *auto.Conn, name string) {
		if closing.Load() {
			return
		}
		if st := conn.GetState(); st == connectivity.Shutdown {
			mu.Lock()
			atClose = append(atClose, name)
			mu.Unlock()
		}
	})

	pctx, stop := context.WithCancel(ctx)
	var polled, watched atomic.Int64 // SHUTDOWN seen by GetState, after WaitForStateChange
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		for pctx.Err() == nil {
			if f.conn.GetState() == connectivity.Shutdown {
				polled.Add(1)
			}
			runtime.Gosched()
		}
	}()
	go func() {
		defer wg.Done()
		st := f.conn.GetState()
		for f.conn.WaitForStateChange(pctx, st) {
			if st = f.conn.GetState(); st == connectivity.Shutdown {
				watched.Add(1)
			}
		}
	}()
	for range 5 {
		f.round(t, ctx)
	}
	stop()
	wg.Wait()
	closing.Store(true)
	f.conn.Close()

	if n := polled.Load(); n > 0 {
		t.Errorf("GetState() = SHUTDOWN %d times before Close", n)
	}
	if n := watched.Load(); n > 0 {
		t.Errorf("WaitForStateChange reported a change to SHUTDOWN %d times before Close", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(atClose) > 0 {
		t.Errorf("GetState() = SHUTDOWN right after closing the connection of %v (in that order), want never before Close", atClose)
	}
	if got := f.conn.GetState(); got != connectivity.Shutdown {
		t.Errorf("GetState() after Close = %v, want SHUTDOWN", got)
	}
}

// TestMoveDownKeepsRedetectGrace: after calls move down from a, a's
// connection is kept for Redetect before it is closed and dialed again, in
// every round, not only the first.
func TestMoveDownKeepsRedetectGrace(t *testing.T) {
	ctx := testContext(t)
	var closing atomic.Bool
	var mu sync.Mutex
	var closedA []time.Time
	f := newFlapping(t, ctx, func(_ *auto.Conn, name string) {
		if name == "a" && !closing.Load() {
			mu.Lock()
			closedA = append(closedA, time.Now())
			mu.Unlock()
		}
	})
	for range 4 {
		f.round(t, ctx)
	}
	closing.Store(true)
	f.conn.Close()

	mu.Lock()
	defer mu.Unlock()
	for _, d := range f.decs.list() {
		if d.Kind != auto.KindMoveDown {
			continue
		}
		for _, c := range closedA {
			if after := c.Sub(d.At); after >= 0 && after < testRedetect {
				t.Errorf("a closed %v after the move down at %v, want at least Redetect (%v) later", after, d.At.Format("15:04:05.000"), testRedetect)
			}
		}
	}
}
