package main

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// The kinds of fault the schedule places.
const (
	faultMMFKill          = "mmf-kill"          // SIGKILL of a match function replica, restarted after hold
	faultMMFDrain         = "mmf-drain"         // SIGTERM: the replica drains (GOAWAY), restarted after hold
	faultCoreKill         = "core-kill"         // a core replica stops abruptly (connections reset), restarted after hold
	faultCoreDrain        = "core-drain"        // a core replica drains (GOAWAY), restarted after hold
	faultRemove           = "remove"            // a core replica leaves discovery while it keeps serving, listed again after hold
	faultAdd              = "add"               // a new core replica starts and is listed; after hold it is unlisted and drained
	faultDNSOutage        = "dns-outage"        // the DNS server is down for hold
	faultIstiodRestart    = "istiod-restart"    // istiod killed, started again after hold
	faultAPIServerRestart = "apiserver-restart" // the Kubernetes API server stopped, started again after hold
	faultSidecarRestart   = "sidecar-restart"   // the sidecar stand-in closed, started again on its address after hold
)

// faultHold is how long each kind of fault lasts before it is undone.
var faultHold = map[string]time.Duration{
	faultMMFKill:          3 * time.Second,
	faultMMFDrain:         3 * time.Second,
	faultCoreKill:         3 * time.Second,
	faultCoreDrain:        3 * time.Second,
	faultRemove:           8 * time.Second,
	faultAdd:              8 * time.Second,
	faultDNSOutage:        20 * time.Second,
	faultIstiodRestart:    3 * time.Second,
	faultAPIServerRestart: 3 * time.Second,
	faultSidecarRestart:   2 * time.Second,
}

// allFaults lists every kind in the order the summary shows them.
var allFaults = []string{
	faultMMFKill, faultMMFDrain, faultCoreKill, faultCoreDrain, faultRemove, faultAdd,
	faultDNSOutage, faultIstiodRestart, faultAPIServerRestart, faultSidecarRestart,
}

// fault is one placed fault: what, on which target, when (offset from the
// run's start) and for how long.
type fault struct {
	Kind   string
	Target string // "frontend/2", "mmf/1", "istiod", …
	At     time.Duration
	Hold   time.Duration
}

func (f fault) String() string { return f.Kind + " " + f.Target }

// timing is how the schedule spaces its faults.
type timing struct {
	warmup time.Duration // before the first fault
	grace  time.Duration // after a fault is undone, still counted as its window
	gap    time.Duration // quiet time between one window's end and the next fault
	tail   time.Duration // after the last window, before the end
}

// window is the span a fault's failures are expected in: from its start to
// grace after it was undone.
func (t timing) window(f fault) time.Duration { return f.Hold + t.grace }

// plan places the kinds on a seeded schedule: rounds of every kind, each
// round in its own shuffled order, one fault at a time, as many rounds as
// fit in duration. It fails when not even one round fits, saying how long
// the run must be.
func plan(kinds []string, duration time.Duration, tm timing, seed uint64, target func(rng *rand.Rand, kind string) string) ([]fault, error) {
	if len(kinds) == 0 {
		return nil, nil
	}
	if need := needed(kinds, tm); duration < need {
		return nil, fmt.Errorf("-duration %v is too short to place each of the %d fault kinds once (%s): it needs at least %v",
			duration, len(kinds), strings.Join(kinds, ", "), need.Round(time.Second))
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	var out []fault
	at := tm.warmup
	for {
		order := slices.Clone(kinds)
		rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for _, k := range order {
			f := fault{Kind: k, Target: target(rng, k), At: at, Hold: faultHold[k]}
			if at+tm.window(f)+tm.tail > duration {
				return out, nil
			}
			out = append(out, f)
			at += tm.window(f) + tm.gap
		}
	}
}

// needed is the shortest duration that holds one round of kinds.
func needed(kinds []string, tm timing) time.Duration {
	var round time.Duration
	for _, k := range kinds {
		round += faultHold[k] + tm.grace + tm.gap
	}
	return tm.warmup + round - tm.gap + tm.tail
}

// kindsOf parses -faults: "all" (every kind the run can have) or a
// comma-separated list, each of which the run must be able to have.
func kindsOf(spec string, possible []string, strategy string) ([]string, error) {
	if spec == "all" {
		return possible, nil
	}
	if spec == "none" || spec == "" {
		return nil, nil
	}
	var out []string
	for k := range strings.SplitSeq(spec, ",") {
		k = strings.TrimSpace(k)
		if _, known := faultHold[k]; !known {
			return nil, fmt.Errorf("-faults: unknown fault %q (known: %s)", k, strings.Join(allFaults, ", "))
		}
		if !slices.Contains(possible, k) {
			return nil, fmt.Errorf("-faults: fault %s cannot happen to the %s strategy in this run (it can have: %s)",
				k, strategy, strings.Join(possible, ", "))
		}
		if !slices.Contains(out, k) {
			out = append(out, k)
		}
	}
	return out, nil
}
