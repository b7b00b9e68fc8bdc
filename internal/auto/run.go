package auto

import (
	"context"
	"errors"
	"slices"
	"time"

	"google.golang.org/grpc/connectivity"
)

// detectionEvent reports one strategy's detection to the supervisor.
type detectionEvent struct {
	idx int
	det Detection
}

// supervisor is a connection's state; only its run goroutine touches it.
type supervisor struct {
	c         *Conn
	cfg       Config
	dets      []Detection
	done      []bool // a detection finished at least once
	detecting []bool // a detection is running
	failed    []bool // dial failed
	logged    []Detection
	tiers     []*tier // by chain index; nil until dialed
	retiring  []*tier // retired, closed after the next publish once their last call ends
	results   chan detectionEvent

	active    int   // index of the tier in use, -1 when none
	noneErr   error // set when no strategy is available
	decided   bool
	fellBack  bool // a gated strategy missed its gate before the first decision
	decision  Decision
	gating    int // index being given Gate to reach READY, -1 if none
	gateUntil time.Time
	redetect  time.Time // when strategies above the one in use are detected again
	timer     *time.Timer
	timerAt   time.Time // when timer fires; zero when it is not armed
}

func newSupervisor(c *Conn) *supervisor {
	n := len(c.cfg.Chain)
	return &supervisor{
		c: c, cfg: c.cfg,
		dets: make([]Detection, n), done: make([]bool, n), detecting: make([]bool, n), failed: make([]bool, n),
		logged: make([]Detection, n), tiers: make([]*tier, n), results: make(chan detectionEvent, n),
		active: -1, gating: -1, decision: c.Decision(),
	}
}

// run detects, dials and switches between strategies until Close.
func (sv *supervisor) run() {
	defer sv.c.wg.Done()
	sv.timer = time.NewTimer(time.Hour)
	sv.timer.Stop()
	defer sv.timer.Stop()
	defer sv.shutdown()
	for i := range sv.cfg.Chain {
		sv.startDetection(i)
	}
	for {
		select {
		case <-sv.c.ctx.Done():
			return
		case r := <-sv.results:
			sv.detected(r)
		case e := <-sv.c.events:
			sv.tierState(e)
		case <-sv.timer.C:
			sv.timerAt = time.Time{}
		}
		sv.step(time.Now())
		sv.publish()
		sv.closeRetired()
	}
}

// shutdown publishes the closed snapshot, then closes every tier.
func (sv *supervisor) shutdown() {
	sv.c.publish(&snapshot{closed: true, decision: sv.decisionCopy()})
	var errs []error
	for _, t := range sv.tiers {
		if t != nil {
			errs = append(errs, t.closeNow())
		}
	}
	for _, t := range sv.retiring {
		_ = t.closeNow()
	}
	sv.c.closeErr = errors.Join(errs...)
}

// publish makes the current state visible to calls.
func (sv *supervisor) publish() {
	s := &snapshot{noneErr: sv.noneErr, decision: sv.decisionCopy()}
	if sv.active >= 0 {
		s.active = sv.tiers[sv.active]
	} else if sv.gating >= 0 && sv.noneErr == nil {
		if t := sv.tiers[sv.gating]; t != nil && t.state == connectivity.TransientFailure {
			s.trying = t
		}
	}
	sv.c.publish(s)
}

func (sv *supervisor) decisionCopy() Decision {
	d := sv.decision
	d.Detections = slices.Clone(d.Detections)
	return d
}

// startDetection runs strategy i's Detect in the background, bounded by
// DetectTimeout; its result arrives on sv.results, which has room for one
// result per strategy.
func (sv *supervisor) startDetection(i int) {
	sv.detecting[i] = true
	sv.c.wg.Add(1)
	go func() {
		defer sv.c.wg.Done()
		ctx, cancel := context.WithTimeout(sv.c.ctx, sv.cfg.DetectTimeout)
		defer cancel()
		sv.results <- detectionEvent{idx: i, det: sv.cfg.Chain[i].Detect(ctx)}
	}()
}

// detected records a detection and logs it when it differs from the last
// one logged for that strategy, so that periodic re-detection is quiet.
func (sv *supervisor) detected(r detectionEvent) {
	sv.dets[r.idx], sv.done[r.idx], sv.detecting[r.idx] = r.det, true, false
	sv.decision.Detections[r.idx] = r.det
	last := sv.logged[r.idx]
	if last.At.IsZero() || last.Available != r.det.Available || last.Reason != r.det.Reason {
		sv.cfg.Logger.Info("balancer: auto: detection", "addr", sv.cfg.Addr, "strategy", r.det.Strategy, "available", r.det.Available, "reason", r.det.Reason)
		sv.logged[r.idx] = r.det
	}
}

// tierState applies a watcher's event, ignoring tiers no longer dialed.
func (sv *supervisor) tierState(e stateEvent) {
	if sv.tiers[e.t.idx] != e.t {
		return
	}
	if e.t.state != e.state {
		sv.cfg.Logger.Debug("balancer: auto: state", "addr", sv.cfg.Addr, "strategy", sv.cfg.Chain[e.t.idx].Name, "state", e.state.String())
	}
	e.t.setState(e.state, time.Now())
}

// arm makes the timer fire after d, unless it already fires sooner.
func (sv *supervisor) arm(d time.Duration) {
	at := time.Now().Add(d)
	if !sv.timerAt.IsZero() && !at.Before(sv.timerAt) {
		return
	}
	sv.timer.Reset(d)
	sv.timerAt = at
}
