package balancer

import (
	"fmt"
	"time"

	"google.golang.org/grpc/connectivity"
)

// steady runs after the first decision: it moves calls down when the
// strategy in use has not been READY for longer than Gate while a lower one
// is READY, and back up as soon as a higher one is READY.
func (c *autoConn) steady(sv *supervisor, now time.Time) {
	c.mu.Lock()
	cur, none := c.activeIdx, c.noneErr != nil
	c.mu.Unlock()
	if none {
		cur = len(c.chain)
	}
	c.climb(sv, now, cur)
	best := c.highestReady()
	if none {
		if best >= 0 {
			c.choose(best, fmt.Sprintf("%s detected (%s) and READY", c.chain[best].Name(), sv.dets[best].Reason), now)
		}
		return
	}
	if best >= 0 && best < cur {
		c.choose(best, fmt.Sprintf("%s is READY again; moving up from %s", c.chain[best].Name(), c.chain[cur].Name()), now)
		return
	}
	t := c.tiers[cur]
	if t.state == connectivity.Ready {
		return
	}
	if deadline := t.badSince.Add(c.gate); now.Before(deadline) {
		c.arm(sv, deadline.Sub(now))
		return
	}
	if best > cur {
		c.choose(best, fmt.Sprintf("%s not READY for longer than %v (%v); moving down to %s", c.chain[cur].Name(), c.gate, t.state, c.chain[best].Name()), now)
		return
	}
	if next, _ := c.nextCandidate(sv, cur+1); next >= 0 {
		c.log.Warn("balancer: auto: strategy in use not READY, dialing the next one", "addr", c.addr, "strategy", c.chain[cur].Name(), "state", t.state, "next", c.chain[next].Name())
		c.dial(sv, next, now)
	}
}

// climb looks again, every RedetectInterval, for strategies above the one in
// use (cur) that were not available, and dials those that now are, so that a
// sidecar that became ready after the first detection is still used. Dialed
// strategies are watched; steady moves calls up once one is READY.
func (c *autoConn) climb(sv *supervisor, now time.Time, cur int) {
	if cur == 0 {
		return // nothing above
	}
	for i := 0; i < cur; i++ {
		if sv.done[i] && sv.dets[i].Available && !sv.failed[i] && c.tiers[i] == nil {
			c.log.Info("balancer: auto: strategy above the one in use is available, dialing it", "addr", c.addr, "strategy", c.chain[i].Name(), "reason", sv.dets[i].Reason)
			c.dial(sv, i, now)
		}
	}
	if sv.redetect.IsZero() {
		sv.redetect = now.Add(c.redetect)
	}
	if now.Before(sv.redetect) {
		c.arm(sv, sv.redetect.Sub(now))
		return
	}
	sv.redetect = now.Add(c.redetect)
	c.arm(sv, c.redetect)
	for i := 0; i < cur; i++ {
		if !sv.detecting[i] && !sv.failed[i] && c.tiers[i] == nil {
			c.startDetection(sv, i)
		}
	}
}

// dial dials strategy idx, starts watching its state and reports whether
// Dial succeeded.
func (c *autoConn) dial(sv *supervisor, idx int, now time.Time) bool {
	conn, err := c.chain[idx].Dial(c.addr, c.opts...)
	if err != nil {
		sv.failed[idx] = true
		sv.dets[idx].Available = false
		sv.dets[idx].Reason = fmt.Sprintf("%s; dial failed: %v", sv.dets[idx].Reason, err)
		c.mu.Lock()
		c.decision.Detections[idx] = sv.dets[idx]
		c.mu.Unlock()
		c.log.Warn("balancer: auto: dial failed", "addr", c.addr, "strategy", c.chain[idx].Name(), "error", err)
		return false
	}
	t := &tier{idx: idx, conn: conn, state: conn.GetState(), badSince: now}
	c.mu.Lock()
	c.tiers[idx] = t
	c.mu.Unlock()
	conn.Connect()
	c.wg.Add(1)
	go c.watch(t)
	return true
}

// watch forwards t's state changes to the supervisor and keeps t out of
// IDLE, so that a strategy not in use still notices when it recovers.
func (c *autoConn) watch(t *tier) {
	defer c.wg.Done()
	st := t.conn.GetState()
	for {
		if st == connectivity.Idle {
			t.conn.Connect()
		}
		select {
		case c.events <- stateEvent{idx: t.idx, state: st}:
		case <-c.ctx.Done():
			return
		}
		if !t.conn.WaitForStateChange(c.ctx, st) {
			return
		}
		st = t.conn.GetState()
	}
}

// choose makes strategy idx the one calls use.
func (c *autoConn) choose(idx int, reason string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.active, c.activeIdx, c.noneErr = c.tiers[idx].conn, idx, nil
	c.decision.Strategy, c.decision.Reason, c.decision.At = c.chain[idx].Name(), reason, now
	c.notifyLocked()
	c.decideLocked()
	c.log.Info("balancer: auto: using strategy", "addr", c.addr, "strategy", c.decision.Strategy, "reason", reason)
}

// none records that no strategy of the chain is available.
func (c *autoConn) none(sv *supervisor, now time.Time) {
	err := noneAvailable(c.addr, sv.dets)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.noneErr = err
	c.decision.Strategy, c.decision.Reason, c.decision.At = "", err.Error(), now
	c.notifyLocked()
	c.decideLocked()
	c.log.Warn("balancer: auto: no strategy available", "addr", c.addr, "error", err)
	sv.redetect = now.Add(c.redetect)
	c.arm(sv, c.redetect)
}

func (c *autoConn) decideLocked() {
	select {
	case <-c.decided:
	default:
		close(c.decided)
	}
}

// highestReady returns the index of the first dialed strategy that is READY,
// or -1.
func (c *autoConn) highestReady() int {
	for i, t := range c.tiers {
		if t != nil && t.state == connectivity.Ready {
			return i
		}
	}
	return -1
}

// firstDialed returns the index of the first dialed strategy, or -1.
func (c *autoConn) firstDialed() int {
	for i, t := range c.tiers {
		if t != nil {
			return i
		}
	}
	return -1
}

func (c *autoConn) tierAt(i int) *tier { return c.tiers[i] }

// arm makes the timer fire after d, unless it already fires sooner.
func (c *autoConn) arm(sv *supervisor, d time.Duration) {
	at := time.Now().Add(d)
	if !sv.timerAt.IsZero() && !at.Before(sv.timerAt) {
		return
	}
	sv.timer.Reset(d)
	sv.timerAt = at
}
