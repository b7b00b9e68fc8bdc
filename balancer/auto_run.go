package balancer

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc/connectivity"
)

// stateEvent reports a tier's new connectivity state to the supervisor.
type stateEvent struct {
	idx   int
	state connectivity.State
}

// detectionEvent reports one strategy's detection to the supervisor.
type detectionEvent struct {
	idx int
	det Detection
}

// supervisor is the state the run goroutine alone touches.
type supervisor struct {
	dets      []Detection
	done      []bool // a detection finished at least once
	detecting []bool // a detection is running
	failed    []bool // dial failed
	results   chan detectionEvent
	gating    int // index being given Gate to reach READY, -1 if none
	gateUntil time.Time
	redetect  time.Time // when strategies above the one in use are detected again
	timer     *time.Timer
	timerAt   time.Time // when timer fires; zero when it is not armed
}

// run detects, dials and switches between strategies until Close.
func (c *autoConn) run() {
	defer c.wg.Done()
	n := len(c.chain)
	sv := &supervisor{
		dets: make([]Detection, n), done: make([]bool, n), detecting: make([]bool, n), failed: make([]bool, n),
		results: make(chan detectionEvent, n), gating: -1, timer: time.NewTimer(time.Hour),
	}
	sv.timer.Stop()
	defer sv.timer.Stop()
	for i := range c.chain {
		c.startDetection(sv, i)
	}
	for {
		select {
		case <-c.ctx.Done():
			return
		case r := <-sv.results:
			sv.dets[r.idx], sv.done[r.idx], sv.detecting[r.idx] = r.det, true, false
			c.detected(sv, r)
		case e := <-c.events:
			c.tierState(e)
		case <-sv.timer.C:
			sv.timerAt = time.Time{}
		}
		c.step(sv, time.Now())
	}
}

// startDetection runs strategy i's Detect in the background, bounded by
// DetectTimeout; its result arrives on sv.results, which has room for one
// result per strategy.
func (c *autoConn) startDetection(sv *supervisor, i int) {
	sv.detecting[i] = true
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		ctx, cancel := context.WithTimeout(c.ctx, c.detect)
		defer cancel()
		sv.results <- detectionEvent{idx: i, det: detect(ctx, c.chain[i], c.addr)}
	}()
}

func (c *autoConn) detected(sv *supervisor, r detectionEvent) {
	c.log.Info("balancer: auto: detection", "addr", c.addr, "strategy", r.det.Strategy, "available", r.det.Available, "reason", r.det.Reason)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.decision.Detections[r.idx] = r.det
}

func (c *autoConn) tierState(e stateEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.tiers[e.idx]
	switch {
	case e.state == connectivity.Ready:
		t.badSince = time.Time{}
	case t.state == connectivity.Ready:
		t.badSince = time.Now()
	}
	t.state = e.state
}

// step applies the chain's rules after any event and arms the timer for the
// next deadline.
func (c *autoConn) step(sv *supervisor, now time.Time) {
	select {
	case <-c.decided:
		c.steady(sv, now)
	default:
		c.starting(sv, now)
	}
}

// starting runs until the first decision.
func (c *autoConn) starting(sv *supervisor, now time.Time) {
	if best := c.highestReady(); best >= 0 {
		c.choose(best, fmt.Sprintf("%s: READY; detected: %s", c.chain[best].Name(), sv.dets[best].Reason), now)
		return
	}
	if sv.gating >= 0 && now.Before(sv.gateUntil) {
		c.arm(sv, sv.gateUntil.Sub(now))
		return
	}
	next, known := c.nextCandidate(sv, sv.gating+1)
	switch {
	case next >= 0:
		if sv.gating >= 0 {
			c.log.Warn("balancer: auto: strategy not READY within gate, trying the next one", "addr", c.addr, "strategy", c.chain[sv.gating].Name(), "gate", c.gate)
		}
		if c.dial(sv, next, now) {
			sv.gating, sv.gateUntil = next, now.Add(c.gate)
			c.arm(sv, c.gate)
			c.setPending(fmt.Sprintf("%s detected (%s); waiting up to %v for it to connect", c.chain[next].Name(), sv.dets[next].Reason, c.gate))
		} else {
			c.starting(sv, now)
		}
	case !known:
		// Wait for a detection of a lower strategy.
	case sv.gating >= 0:
		first := c.firstDialed()
		c.choose(first, fmt.Sprintf("no strategy reached READY within %v; using the highest one dialed (%s)", c.gate, sv.dets[first].Reason), now)
	default:
		c.none(sv, now)
	}
}

// nextCandidate returns the first available, undialed strategy at or after
// from. known is false when an earlier detection has not finished yet.
func (c *autoConn) nextCandidate(sv *supervisor, from int) (idx int, known bool) {
	for i := from; i < len(c.chain); i++ {
		if !sv.done[i] {
			return -1, false
		}
		if sv.dets[i].Available && !sv.failed[i] && c.tierAt(i) == nil {
			return i, true
		}
	}
	return -1, true
}

// setPending updates the reason given before the first decision, which calls
// that time out while waiting for it report.
func (c *autoConn) setPending(reason string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.decision.Reason = reason
}
