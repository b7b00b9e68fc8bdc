package omtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// cycle is one synchronizer cycle: the calls registered in its window, the
// evaluator stream they share and the proposals it was given.
type cycle struct {
	s          *synchronizer
	started    chan struct{} // closed once the evaluator stream is open: MMFs may run
	finished   chan struct{} // closed when every call has been ended
	changed    chan struct{} // a token when a call stops proposing or leaves
	evalDone   chan struct{} // closed when the evaluator's output ended
	in         *queue[*pb.Match]
	evalCtx    context.Context
	cancelEval context.CancelFunc
	wg         sync.WaitGroup // feeder, receiver and an in-process evaluator

	mu       sync.Mutex
	calls    []*call
	owner    map[string]*call // match id → the call that proposed it
	byID     map[string]*pb.Match
	accepted map[string]struct{}
	err      error // fails every call of the cycle
}

func newCycle(s *synchronizer) *cycle {
	c := &cycle{
		s: s, started: make(chan struct{}), finished: make(chan struct{}),
		changed: make(chan struct{}, 1), evalDone: make(chan struct{}), in: newQueue[*pb.Match](),
		owner: make(map[string]*call), byID: make(map[string]*pb.Match), accepted: make(map[string]struct{}),
	}
	c.evalCtx, c.cancelEval = context.WithCancel(s.base)
	return c
}

func (c *cycle) add(cl *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls = append(c.calls, cl)
}

// begin opens the cycle's evaluator stream and starts feeding it.
func (c *cycle) begin() {
	st, err := c.s.eval.open(c.evalCtx, c.wg.Go)
	if err != nil {
		c.fail(err)
		close(c.evalDone)
		return
	}
	c.wg.Go(func() { feed(c.in, st) })
	c.wg.Go(func() { c.receive(st) })
}

func (c *cycle) poke() {
	select {
	case c.changed <- struct{}{}:
	default:
	}
}

// fail records the first cycle-wide error and stops the evaluation.
func (c *cycle) fail(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.failLocked(err)
}

func (c *cycle) failLocked(err error) {
	if c.err == nil {
		c.err = err
	}
	c.cancelEval()
	c.poke()
}

// propose checks one proposal of cl and sends it to the evaluator.
func (c *cycle) propose(cl *call, m *pb.Match) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil || cl.late || cl.syncErr != nil {
		return
	}
	if m == nil {
		m = &pb.Match{}
	}
	id := m.GetMatchId()
	if _, dup := cl.seen[id]; dup {
		cl.syncErr = fmt.Errorf("MatchMakingFunction returned same match_id twice: %q", id)
		return
	}
	cl.seen[id] = struct{}{}
	if _, taken := c.owner[id]; taken {
		c.failLocked(fmt.Errorf("multiple match functions used same match_id: %q", id))
		return
	}
	if c.in.push(c.s.eval.input(m)) {
		c.owner[id], c.byID[id] = cl, m
	}
}

func (c *cycle) doneProposing(cl *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl.proposing = false
	c.poke()
}

func (c *cycle) leave(cl *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	cl.proposing, cl.gone = false, true
	c.poke()
}

// sleep waits d on the core's clock; false means the core is closing.
func (c *cycle) sleep(d time.Duration) bool {
	fired := make(chan struct{})
	stop := afterFunc(c.s.cfg.Clock, d, func() { close(fired) })
	defer stop()
	select {
	case <-fired:
		return true
	case <-c.s.base.Done():
		return false
	}
}

// collect waits until no MMF of the cycle is running, or for d, after which
// it cancels the MMFs still running and fails their calls.
func (c *cycle) collect(d time.Duration) {
	fired := make(chan struct{})
	stop := afterFunc(c.s.cfg.Clock, d, func() { close(fired) })
	defer stop()
	for !c.proposalsDone() {
		select {
		case <-c.changed:
		case <-fired:
			c.overrun()
			return
		case <-c.s.base.Done():
			c.fail(errClosing)
			return
		}
	}
}

func (c *cycle) proposalsDone() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.calls {
		if cl.proposing {
			return false
		}
	}
	return true
}

func (c *cycle) overrun() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.calls {
		if cl.proposing {
			cl.late, cl.syncErr = true, errWindowOverrun
			cl.cancelMMF()
		}
	}
}

// awaitEvaluator waits for the end of the evaluator's output. Once no caller
// is left (the window being over) it cancels the evaluator stream, so that a
// stuck evaluator cannot hold up later cycles.
func (c *cycle) awaitEvaluator() {
	defer c.wg.Wait()
	defer c.cancelEval()
	for !c.noCallers() {
		select {
		case <-c.evalDone:
			return
		case <-c.changed:
		case <-c.s.base.Done():
			c.fail(errClosing)
			return
		}
	}
}

func (c *cycle) noCallers() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.calls {
		if !cl.gone {
			return false
		}
	}
	return true
}

// finish ends every call: its MMF is cancelled if still running and its
// stream gets the cycle's error, or its own.
func (c *cycle) finish() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, cl := range c.calls {
		cl.cancelMMF()
		cl.result = cl.syncErr
		if c.err != nil {
			cl.result = c.err
		}
		cl.out.close()
	}
}
