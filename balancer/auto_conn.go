package balancer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"
)

// autoConn is the Conn returned by Auto.Dial. The supervisor goroutine (see
// auto_run.go) owns the tiers; the mutex guards what calls read.
type autoConn struct {
	addr     string
	opts     []grpc.DialOption
	chain    []Strategy
	gate     time.Duration
	detect   time.Duration
	redetect time.Duration
	log      *slog.Logger

	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	decided chan struct{} // closed at the first decision
	events  chan stateEvent
	once    sync.Once

	mu        sync.Mutex
	active    Conn // nil before the first decision or when none is available
	activeIdx int
	noneErr   error         // set when no strategy is available
	changed   chan struct{} // closed and replaced whenever active changes
	decision  Decision
	tiers     []*tier // by chain index; nil until dialed
	closed    bool
}

// tier is one dialed strategy of the chain.
type tier struct {
	idx      int
	conn     Conn
	state    connectivity.State
	badSince time.Time // when it last left READY (or was dialed); zero while READY
}

func newAutoConn(a Auto, addr string, opts []grpc.DialOption) *autoConn {
	ctx, cancel := context.WithCancel(context.Background())
	chain := slices.Clone(a.chain())
	c := &autoConn{
		addr: addr, opts: opts, chain: chain,
		gate: a.gate(), detect: a.detectTimeout(), redetect: a.redetectInterval(), log: logger(a.Logger),
		ctx: ctx, cancel: cancel,
		decided: make(chan struct{}),
		events:  make(chan stateEvent),
		changed: make(chan struct{}),
		tiers:   make([]*tier, len(chain)),
	}
	c.decision = Decision{Reason: "detecting", At: time.Now(), Detections: make([]Detection, len(chain))}
	for i, s := range chain {
		c.decision.Detections[i] = Detection{Strategy: s.Name(), Reason: "detecting"}
	}
	c.wg.Add(1)
	go c.run()
	return c
}

// pick waits for the first decision and returns the connection in use.
func (c *autoConn) pick(ctx context.Context) (Conn, error) {
	select {
	case <-c.decided:
	case <-c.ctx.Done():
	case <-ctx.Done():
		return nil, status.Error(status.FromContextError(ctx.Err()).Code(),
			fmt.Sprintf("balancer: auto: no strategy chosen for %s yet (%s): %v", c.addr, c.Decision().Reason, ctx.Err()))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed || c.ctx.Err() != nil:
		return nil, status.Error(codes.Canceled, "balancer: auto: connection closed")
	case c.noneErr != nil:
		return nil, status.Error(codes.Unavailable, c.noneErr.Error())
	}
	return c.active, nil
}

// Invoke makes a unary call on the strategy in use.
func (c *autoConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	conn, err := c.pick(ctx)
	if err != nil {
		return err
	}
	return conn.Invoke(ctx, method, args, reply, opts...)
}

// NewStream opens a stream on the strategy in use.
func (c *autoConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	conn, err := c.pick(ctx)
	if err != nil {
		return nil, err
	}
	return conn.NewStream(ctx, desc, method, opts...)
}

// GetState returns the state of the strategy in use: CONNECTING while
// detecting, TRANSIENT_FAILURE when no strategy is available, SHUTDOWN after
// Close.
func (c *autoConn) GetState() connectivity.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stateLocked()
}

func (c *autoConn) stateLocked() connectivity.State {
	switch {
	case c.closed:
		return connectivity.Shutdown
	case c.noneErr != nil:
		return connectivity.TransientFailure
	case c.active == nil:
		return connectivity.Connecting
	}
	return c.active.GetState()
}

// WaitForStateChange waits until GetState differs from source or ctx is
// done, following switches between strategies.
func (c *autoConn) WaitForStateChange(ctx context.Context, source connectivity.State) bool {
	for {
		c.mu.Lock()
		st, active, changed := c.stateLocked(), c.active, c.changed
		c.mu.Unlock()
		if st != source {
			return true
		}
		if active == nil || st == connectivity.Shutdown {
			select {
			case <-changed:
				continue
			case <-ctx.Done():
				return false
			}
		}
		wctx, cancel := context.WithCancel(ctx)
		go func() {
			select {
			case <-changed:
				cancel()
			case <-wctx.Done():
			}
		}()
		active.WaitForStateChange(wctx, source)
		cancel()
		if ctx.Err() != nil {
			return false
		}
	}
}

// Connect makes the strategy in use leave IDLE.
func (c *autoConn) Connect() {
	c.mu.Lock()
	active := c.active
	c.mu.Unlock()
	if active != nil {
		active.Connect()
	}
}

// Decision returns the connection's current decision.
func (c *autoConn) Decision() Decision {
	c.mu.Lock()
	defer c.mu.Unlock()
	d := c.decision
	d.Detections = slices.Clone(d.Detections)
	return d
}

// Close stops the supervisor, waits for it and closes every dialed
// strategy's connection. It is idempotent.
func (c *autoConn) Close() error {
	var err error
	c.once.Do(func() {
		c.cancel()
		c.wg.Wait()
		c.mu.Lock()
		c.closed = true
		tiers := c.tiers
		c.notifyLocked()
		c.mu.Unlock()
		var errs []error
		for _, t := range tiers {
			if t != nil {
				errs = append(errs, t.conn.Close())
			}
		}
		err = errors.Join(errs...)
	})
	return err
}

// notifyLocked wakes WaitForStateChange callers after active changed.
func (c *autoConn) notifyLocked() {
	close(c.changed)
	c.changed = make(chan struct{})
}
