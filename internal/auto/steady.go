package auto

import (
	"context"
	"fmt"
	"strings"
	"time"

	"google.golang.org/grpc/connectivity"
)

// steady runs after the first decision. It moves calls down when the
// strategy in use has not been READY for longer than Gate while a lower one
// is READY, and up when a higher one has been READY for Stable. Once the one
// in use is READY, every dialed strategy below it is closed.
func (sv *supervisor) steady(now time.Time) {
	cur := sv.active
	if cur < 0 {
		cur = len(sv.tiers)
	}
	sv.climb(now, cur)
	if cur == len(sv.tiers) {
		if best := sv.firstReady(0, cur, 0, now); best >= 0 {
			sv.choose(best, KindDetected, fmt.Sprintf("%s detected (%s) and READY", sv.cfg.Chain[best].Name, sv.dets[best].Reason), now)
		}
		return
	}
	if up := sv.firstReady(0, cur, sv.cfg.Stable, now); up >= 0 {
		sv.choose(up, KindMoveUp, fmt.Sprintf("%s is READY again (for %v); moving up from %s", sv.cfg.Chain[up].Name, sv.cfg.Stable, sv.cfg.Chain[cur].Name), now)
		sv.retireBelow(up, now)
		return
	}
	t := sv.tiers[cur]
	if t.state == connectivity.Ready {
		sv.retireBelow(cur, now)
		return
	}
	sv.down(now, cur, t)
}

// down moves calls to a READY strategy below cur once cur has not been
// READY for Gate, or dials the next candidate below when none is READY.
func (sv *supervisor) down(now time.Time, cur int, t *tier) {
	if deadline := t.badSince.Add(sv.cfg.Gate); now.Before(deadline) {
		sv.arm(deadline.Sub(now))
		return
	}
	if best := sv.firstReady(cur+1, len(sv.tiers), 0, now); best >= 0 {
		sv.choose(best, KindMoveDown, fmt.Sprintf("%s not READY for longer than %v (%v); moving down to %s", sv.cfg.Chain[cur].Name, sv.cfg.Gate, t.state, sv.cfg.Chain[best].Name), now)
		// The deadline was not kept up while cur was in use (climb stops at
		// the top); start it afresh so that cur gets Redetect to recover
		// before it is closed and dialed again.
		sv.redetect = now.Add(sv.cfg.Redetect)
		sv.retireBelow(best, now)
		return
	}
	if next, _ := sv.nextCandidate(cur + 1); next >= 0 {
		sv.cfg.Logger.Warn("balancer: auto: strategy in use not READY, dialing the next one", "addr", sv.cfg.Addr, "strategy", sv.cfg.Chain[cur].Name, "state", t.state, "next", sv.cfg.Chain[next].Name)
		sv.dial(next, now)
	}
}

// climb looks again, every Redetect, for strategies above the one in use
// (cur) that were not available, and dials those that now are, so that a
// sidecar that became ready after the first detection is still used. A
// dialed one above that has not been READY for Redetect since it was dialed
// is closed and detected and dialed again: a fresh connection tries at once,
// where the old one would wait out grpc-go's reconnect backoff (up to 120 s).
func (sv *supervisor) climb(now time.Time, cur int) {
	for i := 0; i < cur; i++ {
		if sv.done[i] && sv.dets[i].Available && !sv.failed[i] && sv.tiers[i] == nil && !sv.detecting[i] {
			sv.cfg.Logger.Debug("balancer: auto: strategy above the one in use is available, dialing it", "addr", sv.cfg.Addr, "strategy", sv.cfg.Chain[i].Name, "reason", sv.dets[i].Reason)
			sv.dial(i, now)
		}
	}
	if cur == 0 {
		return // nothing above
	}
	if sv.redetect.IsZero() {
		sv.redetect = now.Add(sv.cfg.Redetect)
	}
	if now.Before(sv.redetect) {
		sv.arm(sv.redetect.Sub(now))
		return
	}
	sv.redetect = now.Add(sv.cfg.Redetect)
	sv.arm(sv.cfg.Redetect)
	for i := 0; i < cur; i++ {
		if t := sv.tiers[i]; t != nil && t.readySince.IsZero() && now.Sub(t.dialedAt) >= sv.cfg.Redetect {
			sv.cfg.Logger.Debug("balancer: auto: strategy above the one in use still not READY, dialing it again", "addr", sv.cfg.Addr, "strategy", sv.cfg.Chain[i].Name, "state", t.state.String())
			sv.retire(i)
		}
		if !sv.detecting[i] && !sv.failed[i] && sv.tiers[i] == nil {
			sv.startDetection(i)
		}
	}
}

// dial dials strategy idx, starts watching its state and reports whether
// Dial succeeded.
func (sv *supervisor) dial(idx int, now time.Time) bool {
	conn, err := sv.cfg.Chain[idx].Dial()
	if err != nil {
		sv.failed[idx] = true
		sv.dets[idx].Available = false
		sv.dets[idx].Reason = fmt.Sprintf("%s; dial failed: %v", sv.dets[idx].Reason, err)
		sv.decision.Detections[idx] = sv.dets[idx]
		sv.cfg.Logger.Warn("balancer: auto: dial failed", "addr", sv.cfg.Addr, "strategy", sv.cfg.Chain[idx].Name, "error", err)
		return false
	}
	ctx, cancel := context.WithCancel(sv.c.ctx)
	t := &tier{idx: idx, conn: conn, cancel: cancel, state: connectivity.Idle, dialedAt: now, badSince: now}
	sv.tiers[idx] = t
	conn.Connect()
	sv.c.wg.Add(1)
	go func() {
		defer sv.c.wg.Done()
		watch(ctx, t, sv.c.events)
	}()
	return true
}

// choose makes strategy idx the one calls use.
func (sv *supervisor) choose(idx int, kind, reason string, now time.Time) {
	sv.active, sv.noneErr, sv.decided = idx, nil, true
	sv.decision.Strategy, sv.decision.Reason, sv.decision.At, sv.decision.Kind = sv.cfg.Chain[idx].Name, reason, now, kind
	sv.observe()
	sv.cfg.Logger.Info("balancer: auto: using strategy", "addr", sv.cfg.Addr, "strategy", sv.decision.Strategy, "reason", reason)
}

// retireBelow closes every dialed strategy below idx: they are not in use.
// Calls already on one finish first. Like every retired tier, they are
// closed after the next snapshot is published (see retire).
func (sv *supervisor) retireBelow(idx int, _ time.Time) {
	var names []string
	for i := idx + 1; i < len(sv.tiers); i++ {
		if sv.tiers[i] != nil {
			names = append(names, sv.cfg.Chain[i].Name)
		}
	}
	if len(names) == 0 {
		return
	}
	for i := idx + 1; i < len(sv.tiers); i++ {
		if sv.tiers[i] != nil {
			sv.retire(i)
		}
	}
	sv.cfg.Logger.Info("balancer: auto: closed strategies no longer in use", "addr", sv.cfg.Addr, "strategies", strings.Join(names, ","), "using", sv.cfg.Chain[idx].Name)
}

// retire forgets tier i. closeRetired closes it once the snapshot of this
// step, which no longer names it, is published (until then calls and
// GetState may still reach it through the previous one) and its calls end.
func (sv *supervisor) retire(i int) {
	sv.retiring = append(sv.retiring, sv.tiers[i])
	sv.tiers[i] = nil
}

// closeRetired closes the retired tiers no call uses, lets the others close
// when their last call ends, and forgets those that are closed. It runs
// after publish.
func (sv *supervisor) closeRetired() {
	kept := sv.retiring[:0]
	for _, t := range sv.retiring {
		if !t.retire() {
			kept = append(kept, t)
		}
	}
	clear(sv.retiring[len(kept):])
	sv.retiring = kept
}

// noneAvailable is the error of a connection whose chain has no available
// strategy.
func noneAvailable(addr string, dets []Detection) error {
	parts := make([]string, len(dets))
	for i, d := range dets {
		parts[i] = d.Strategy + ": " + d.Reason
	}
	return fmt.Errorf("balancer: auto: no strategy available for %s (%s)", addr, strings.Join(parts, "; "))
}
