package auto

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// Conn is a connection whose strategy a supervisor goroutine picks. Its
// methods are safe for concurrent use.
type Conn struct {
	cfg    Config
	ctx    context.Context
	cancel context.CancelFunc
	events chan stateEvent
	snap   atomic.Pointer[snapshot]

	wg       sync.WaitGroup // the supervisor and every goroutine it starts
	closers  sync.WaitGroup // Close calls of retired tiers started by release
	once     sync.Once
	closeErr error // set by the supervisor as it exits
}

// snapshot is what calls see: published by the supervisor, never changed.
type snapshot struct {
	closed   bool
	active   *tier // nil before the first decision and while none is available
	trying   *tier // before the first decision: the gated tier, when it is failing
	noneErr  error // no strategy is available
	decision Decision
	changed  chan struct{} // closed when the next snapshot is published
}

// New starts the supervisor of a connection. It does no blocking I/O.
func New(cfg Config) *Conn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Conn{cfg: cfg, ctx: ctx, cancel: cancel, events: make(chan stateEvent)}
	dec := Decision{Reason: "detecting", Detections: make([]Detection, len(cfg.Chain))}
	for i, s := range cfg.Chain {
		dec.Detections[i] = Detection{Strategy: s.Name, Reason: "detecting"}
	}
	c.snap.Store(&snapshot{decision: dec, changed: make(chan struct{})})
	sv := newSupervisor(c)
	c.wg.Add(1)
	go sv.run()
	return c
}

// publish replaces the snapshot; only the supervisor calls it.
func (c *Conn) publish(s *snapshot) {
	s.changed = make(chan struct{})
	old := c.snap.Swap(s)
	close(old.changed)
}

// use runs call on the strategy in use, waiting for the first decision
// within ctx. While it waits and the gated strategy is failing, it probes
// that strategy (never with the caller's request, which must not be sent
// twice) so that the cause, such as "connection refused", reaches the caller
// whose deadline passes first.
func (c *Conn) use(ctx context.Context, call func(t *tier) error) error {
	var lastErr error
	for {
		s := c.snap.Load()
		switch {
		case s.closed:
			return status.Error(codes.Canceled, "balancer: auto: connection closed")
		case s.noneErr != nil:
			return status.Error(codes.Unavailable, s.noneErr.Error())
		case s.active != nil && s.active.acquire():
			return call(s.active)
		case s.active == nil && s.trying != nil && s.trying.acquire():
			if err := c.probe(ctx, s); err != nil {
				lastErr = fmt.Errorf("%s: %w", c.cfg.Chain[s.trying.idx].Name, err)
			}
		}
		select {
		case <-s.changed:
		case <-ctx.Done():
			return pendingErr(ctx, c.cfg.Addr, s.decision.Reason, lastErr)
		}
	}
}

// probe asks s.trying for its health with a fail-fast call, cut short when
// the next snapshot is published, and returns the error of a connection
// that cannot reach its server. The call fails locally while the strategy
// is in TRANSIENT_FAILURE; should it have connected meanwhile, the server
// gets one health check, which has no effect.
func (c *Conn) probe(ctx context.Context, s *snapshot) error {
	defer s.trying.release(&c.closers)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.changed:
			cancel()
		case <-ctx.Done():
		}
	}()
	var resp healthpb.HealthCheckResponse
	err := s.trying.conn.Invoke(ctx, healthpb.Health_Check_FullMethodName, &healthpb.HealthCheckRequest{}, &resp, grpc.WaitForReady(false))
	if status.Code(err) != codes.Unavailable {
		return nil
	}
	return err
}

// pendingErr is the error of a call whose context ended before the first
// decision.
func pendingErr(ctx context.Context, addr, reason string, last error) error {
	msg := fmt.Sprintf("balancer: auto: no strategy chosen for %s yet (%s): %v", addr, reason, ctx.Err())
	if last != nil {
		msg += "; last error: " + last.Error()
	}
	return status.Error(status.FromContextError(ctx.Err()).Code(), msg)
}

// Invoke makes a unary call on the strategy in use.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.use(ctx, func(t *tier) error {
		defer t.release(&c.closers)
		return t.conn.Invoke(ctx, method, args, reply, opts...)
	})
}

// NewStream opens a stream on the strategy in use.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	var cs grpc.ClientStream
	err := c.use(ctx, func(t *tier) error {
		var once sync.Once
		done := func() { once.Do(func() { t.release(&c.closers) }) }
		s, err := t.conn.NewStream(ctx, desc, method, opts...)
		if err != nil {
			done()
			return err
		}
		stop := context.AfterFunc(ctx, done)
		cs = &trackedStream{ClientStream: s, serverStreams: desc.ServerStreams, done: func() { stop(); done() }}
		return nil
	})
	return cs, err
}

// GetState returns the state of the strategy in use: CONNECTING before the
// first decision, TRANSIENT_FAILURE when no strategy is available, SHUTDOWN
// after Close and only then.
func (c *Conn) GetState() connectivity.State {
	_, st := c.current()
	return st
}

// current returns the latest snapshot and its state. A tier is closed only
// after a snapshot that no longer names it is published, so SHUTDOWN read
// from a snapshot that is no longer the latest comes from a strategy that
// has just been retired: read again from the latest one.
func (c *Conn) current() (*snapshot, connectivity.State) {
	s := c.snap.Load()
	for {
		st := stateOf(s)
		next := c.snap.Load()
		if st != connectivity.Shutdown || next == s {
			return s, st
		}
		s = next
	}
}

func stateOf(s *snapshot) connectivity.State {
	switch {
	case s.closed:
		return connectivity.Shutdown
	case s.noneErr != nil:
		return connectivity.TransientFailure
	case s.active == nil:
		return connectivity.Connecting
	}
	return s.active.conn.GetState()
}

// WaitForStateChange waits until GetState differs from source or ctx is
// done, following switches between strategies.
func (c *Conn) WaitForStateChange(ctx context.Context, source connectivity.State) bool {
	for {
		s, st := c.current()
		if st != source {
			return true
		}
		if s.active == nil || s.closed {
			select {
			case <-s.changed:
				continue
			case <-ctx.Done():
				return false
			}
		}
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-s.changed:
				cancel()
			case <-wctx.Done():
			}
		}()
		s.active.conn.WaitForStateChange(wctx, source)
		cancel()
		if ctx.Err() != nil {
			return false
		}
	}
}

// Connect makes the strategy in use leave IDLE.
func (c *Conn) Connect() {
	if s := c.snap.Load(); s.active != nil {
		s.active.conn.Connect()
	}
}

// Decision returns the connection's current decision.
func (c *Conn) Decision() Decision {
	d := c.snap.Load().decision
	d.Detections = slices.Clone(d.Detections)
	return d
}

// Close stops the supervisor, which closes every dialed strategy, and waits
// for it. It is idempotent.
func (c *Conn) Close() error {
	c.once.Do(func() {
		c.cancel()
		c.wg.Wait()
		c.closers.Wait()
	})
	return c.closeErr
}
