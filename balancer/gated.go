package balancer

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// gatedConn is a sidecar connection whose calls wait until the sidecar is
// ready or the strategy's ReadyTimeout has passed since Dial.
type gatedConn struct {
	*grpc.ClientConn
	log    *slog.Logger
	open   chan struct{} // closed when calls may go ahead
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
	err    error

	mu     sync.Mutex
	reason string // last readiness probe result
}

func newGatedConn(cc *grpc.ClientConn, s Sidecar) *gatedConn {
	ctx, cancel := context.WithCancel(context.Background())
	c := &gatedConn{
		ClientConn: cc,
		log:        logger(s.Logger),
		open:       make(chan struct{}),
		ctx:        ctx,
		cancel:     cancel,
		reason:     "not probed yet",
	}
	c.wg.Add(1)
	go c.watch(s)
	return c
}

// watch probes the sidecar until it is ready or ReadyTimeout passes, then
// opens the gate.
func (c *gatedConn) watch(s Sidecar) {
	defer c.wg.Done()
	ctx, cancel := context.WithTimeout(c.ctx, s.readyTimeout())
	defer cancel()
	ready, reason := s.waitUntil(ctx, c.setReason)
	if c.ctx.Err() != nil {
		return
	}
	if ready {
		c.log.Info("balancer: sidecar ready", "reason", reason)
	} else {
		c.log.Warn("balancer: sidecar not ready, sending calls anyway", "timeout", s.readyTimeout(), "reason", reason)
	}
	close(c.open)
}

func (c *gatedConn) setReason(r string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reason = r
}

// wait blocks until the gate is open, the connection is closed or ctx is
// done.
func (c *gatedConn) wait(ctx context.Context) error {
	select {
	case <-c.open:
		return nil
	default:
	}
	select {
	case <-c.open:
		return nil
	case <-c.ctx.Done():
		return status.Error(codes.Canceled, "balancer: sidecar: connection closed")
	case <-ctx.Done():
		c.mu.Lock()
		reason := c.reason
		c.mu.Unlock()
		return status.Error(status.FromContextError(ctx.Err()).Code(),
			fmt.Sprintf("balancer: sidecar: waiting for the sidecar to be ready (%s): %v", reason, ctx.Err()))
	}
}

// Invoke waits for the sidecar, then makes a unary call.
func (c *gatedConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if err := c.wait(ctx); err != nil {
		return err
	}
	return c.ClientConn.Invoke(ctx, method, args, reply, opts...)
}

// NewStream waits for the sidecar, then opens a stream.
func (c *gatedConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if err := c.wait(ctx); err != nil {
		return nil, err
	}
	return c.ClientConn.NewStream(ctx, desc, method, opts...)
}

// Close stops the readiness probe and closes the connection. It is
// idempotent.
func (c *gatedConn) Close() error {
	c.once.Do(func() {
		c.cancel()
		c.wg.Wait()
		c.err = c.ClientConn.Close()
	})
	return c.err
}

// waitUntil probes until ready or ctx is done, passing every probe's result
// to report.
func (s Sidecar) waitUntil(ctx context.Context, report func(string)) (bool, string) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		ready, _, reason := s.probe(ctx)
		report(reason)
		if ready {
			return true, reason
		}
		timer.Reset(probeInterval)
		select {
		case <-ctx.Done():
			return false, reason
		case <-timer.C:
		}
	}
}
