package auto

import (
	"fmt"
	"time"
)

// step applies the chain's rules after any event and arms the timer for the
// next deadline.
func (sv *supervisor) step(now time.Time) {
	before := sv.active
	if sv.decided {
		sv.steady(now)
	} else {
		sv.starting(now)
	}
	if sv.active != before {
		// Apply the rules once more from the new strategy in use, so that its
		// timers (re-detection above it, closing below it) are armed.
		sv.steady(now)
	}
}

// starting runs until the first decision.
func (sv *supervisor) starting(now time.Time) {
	if best := sv.firstReady(0, len(sv.tiers), 0, now); best >= 0 {
		sv.choose(best, sv.startKind(), fmt.Sprintf("%s: READY; detected: %s", sv.cfg.Chain[best].Name, sv.dets[best].Reason), now)
		return
	}
	if sv.gating >= 0 && now.Before(sv.gateUntil) {
		sv.arm(sv.gateUntil.Sub(now))
		return
	}
	next, known := sv.nextCandidate(sv.gating + 1)
	switch {
	case next >= 0:
		if sv.gating >= 0 {
			sv.fellBack = true
			sv.cfg.Logger.Warn("balancer: auto: strategy not READY within gate, trying the next one", "addr", sv.cfg.Addr, "strategy", sv.cfg.Chain[sv.gating].Name, "gate", sv.cfg.Gate)
		}
		if sv.dial(next, now) {
			sv.gating, sv.gateUntil = next, now.Add(sv.cfg.Gate)
			sv.arm(sv.cfg.Gate)
			sv.decision.Reason = fmt.Sprintf("%s detected (%s); waiting up to %v for it to connect", sv.cfg.Chain[next].Name, sv.dets[next].Reason, sv.cfg.Gate)
		} else {
			sv.starting(now)
		}
	case !known:
		// Wait for a detection of a lower strategy.
	case sv.gating >= 0:
		first := sv.firstDialed()
		sv.choose(first, KindFallback, fmt.Sprintf("no strategy reached READY within %v; using the highest one dialed (%s)", sv.cfg.Gate, sv.dets[first].Reason), now)
	default:
		sv.none(now)
	}
}

// nextCandidate returns the first available, undialed strategy at or after
// from. known is false when an earlier detection has not finished yet.
func (sv *supervisor) nextCandidate(from int) (idx int, known bool) {
	for i := from; i < len(sv.tiers); i++ {
		if !sv.done[i] {
			return -1, false
		}
		if sv.dets[i].Available && !sv.failed[i] && sv.tiers[i] == nil {
			return i, true
		}
	}
	return -1, true
}

// firstReady returns the first tier in [from, to) that has been READY for
// at least stable, or -1. It arms the timer for a READY one that is not
// stable yet.
func (sv *supervisor) firstReady(from, to int, stable time.Duration, now time.Time) int {
	for i := from; i < to; i++ {
		t := sv.tiers[i]
		if t == nil || t.readySince.IsZero() {
			continue
		}
		if at := t.readySince.Add(stable); now.Before(at) {
			sv.arm(at.Sub(now))
			continue
		}
		return i
	}
	return -1
}

// firstDialed returns the index of the first dialed strategy, or -1.
func (sv *supervisor) firstDialed() int {
	for i, t := range sv.tiers {
		if t != nil {
			return i
		}
	}
	return -1
}

// none records that no strategy of the chain is available.
func (sv *supervisor) none(now time.Time) {
	err := noneAvailable(sv.cfg.Addr, sv.dets)
	sv.noneErr, sv.active, sv.decided = err, -1, true
	sv.decision.Strategy, sv.decision.Reason, sv.decision.At, sv.decision.Kind = "", err.Error(), now, KindNone
	sv.observe()
	sv.cfg.Logger.Warn("balancer: auto: no strategy available", "addr", sv.cfg.Addr, "error", err)
	sv.redetect = now.Add(sv.cfg.Redetect)
	sv.arm(sv.cfg.Redetect)
}

// startKind is the kind of the first decision: KindFallback when a gated
// strategy did not reach READY in time before it, else KindDetected.
func (sv *supervisor) startKind() string {
	if sv.fellBack {
		return KindFallback
	}
	return KindDetected
}

// observe hands the decision just made to Config.OnDecision.
func (sv *supervisor) observe() {
	if sv.cfg.OnDecision != nil {
		sv.cfg.OnDecision(sv.decisionCopy())
	}
}
