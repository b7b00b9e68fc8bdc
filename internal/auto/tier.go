package auto

import (
	"context"
	"io"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
)

// tier is one dialed strategy of the chain. The supervisor alone reads and
// writes state and the times; calls use acquire and release, under mu.
type tier struct {
	idx    int
	conn   Dialed
	cancel context.CancelFunc // stops the watcher

	state      connectivity.State
	dialedAt   time.Time
	readySince time.Time // when it last became READY; zero while not READY
	badSince   time.Time // when it last left READY (or was dialed); zero while READY

	mu       sync.Mutex
	inflight int
	retired  bool // close once inflight drops to zero
	closed   bool
}

// acquire counts a call on t; it fails once t is closed.
func (t *tier) acquire() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return false
	}
	t.inflight++
	return true
}

// release ends a call counted by acquire and closes a retired tier whose
// last call ended; closers joins that Close.
func (t *tier) release(closers *sync.WaitGroup) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.inflight--
	if t.retired && t.inflight == 0 && !t.closed {
		t.closed = true
		closers.Add(1)
		go func() {
			defer closers.Done()
			_ = t.conn.Close()
		}()
	}
}

// retire stops watching t and closes it now if no call uses it, else when
// the last one ends. It reports whether t is closed.
func (t *tier) retire() (closed bool) {
	t.cancel()
	t.mu.Lock()
	t.retired = true
	now := t.inflight == 0 && !t.closed
	if now {
		t.closed = true
	}
	closed = t.closed
	t.mu.Unlock()
	if now {
		_ = t.conn.Close()
	}
	return closed
}

// closeNow closes t whether or not calls use it (on Close of the whole
// connection, which fails those calls).
func (t *tier) closeNow() error {
	t.cancel()
	t.mu.Lock()
	done := t.closed
	t.closed = true
	t.mu.Unlock()
	if done {
		return nil
	}
	return t.conn.Close()
}

// setState records a new connectivity state.
func (t *tier) setState(st connectivity.State, now time.Time) {
	switch {
	case st == connectivity.Ready && t.state != connectivity.Ready:
		t.readySince, t.badSince = now, time.Time{}
	case st != connectivity.Ready && t.state == connectivity.Ready:
		t.readySince, t.badSince = time.Time{}, now
	}
	t.state = st
}

// stateEvent reports a tier's new connectivity state to the supervisor.
type stateEvent struct {
	t     *tier
	state connectivity.State
}

// watch forwards t's state changes to events until ctx ends, and keeps t out
// of IDLE so that a strategy not in use still notices when it recovers.
func watch(ctx context.Context, t *tier, events chan<- stateEvent) {
	st := t.conn.GetState()
	for {
		if st == connectivity.Idle {
			t.conn.Connect()
		}
		select {
		case events <- stateEvent{t: t, state: st}:
		case <-ctx.Done():
			return
		}
		if !t.conn.WaitForStateChange(ctx, st) {
			return
		}
		st = t.conn.GetState()
	}
}

// trackedStream releases its tier once the stream ends, on every way
// grpc-go ends one: RecvMsg returned an error (io.EOF included) or, on a
// stream that is not server-streaming, its message; SendMsg or Header
// returned an error other than io.EOF; or the call's context is done. done
// runs its work once however often it is called.
type trackedStream struct {
	grpc.ClientStream
	serverStreams bool // desc.ServerStreams
	done          func()
}

func (s *trackedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil || !s.serverStreams {
		s.done()
	}
	return err
}

func (s *trackedStream) SendMsg(m any) error {
	err := s.ClientStream.SendMsg(m)
	if err != nil && err != io.EOF {
		s.done()
	}
	return err
}

func (s *trackedStream) Header() (metadata.MD, error) {
	md, err := s.ClientStream.Header()
	if err != nil && err != io.EOF {
		s.done()
	}
	return md, err
}
