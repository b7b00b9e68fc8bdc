package main

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/timeseries"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// faulter carries out the schedule.
type faulter struct {
	core *core        // nil with a real Open-Match
	mmfs *mmfReplicas // the match function replicas
	disc discovery    // nil with a real Open-Match
	rec  *timeseries.Recorder

	mu      sync.Mutex
	done    []done
	current *done // the fault in progress
}

// done is a fault as it happened: when it started and when it was undone.
type done struct {
	fault
	start, end time.Time
	err        error
}

// target picks what a fault of kind hits: a match function replica, a
// listed replica of one of the core's services, or the discovery's part.
func targetOf(mmfs int) func(rng *rand.Rand, kind string) string {
	return func(rng *rand.Rand, kind string) string {
		switch kind {
		case faultMMFKill, faultMMFDrain:
			return "mmf/" + strconv.Itoa(rng.IntN(mmfs))
		case faultCoreKill, faultCoreDrain, faultRemove:
			return fmt.Sprintf("%s/%d", coreServices[rng.IntN(len(coreServices))], rng.IntN(listedReplicas))
		case faultAdd:
			return fmt.Sprintf("%s/%d", coreServices[rng.IntN(len(coreServices))], listedReplicas)
		case faultDNSOutage:
			return "dns"
		case faultIstiodRestart:
			return "istiod"
		case faultAPIServerRestart:
			return "kube-apiserver"
		default:
			return "sidecar"
		}
	}
}

// parseTarget splits "frontend/2".
func parseTarget(t string) (omtest.Service, int) {
	s, i, _ := strings.Cut(t, "/")
	n, _ := strconv.Atoi(i)
	return omtest.Service(s), n
}

// run carries out every fault at its time after start, one at a time,
// until ctx ends.
func (f *faulter) run(ctx context.Context, start time.Time, schedule []fault) {
	for _, ft := range schedule {
		hold(ctx, time.Until(start.Add(ft.At)))
		if ctx.Err() != nil {
			return
		}
		d := done{fault: ft, start: time.Now()}
		f.mu.Lock()
		f.current = &d
		f.mu.Unlock()
		d.err = f.do(ctx, ft)
		d.end = time.Now()
		f.rec.Mark(timeseries.Fault{Kind: ft.Kind, Target: ft.Target, Start: d.start, End: d.end})
		f.mu.Lock()
		f.done = append(f.done, d)
		f.current = nil
		f.mu.Unlock()
	}
}

// history returns the faults done so far and the one in progress, if any,
// as ending now.
func (f *faulter) history() []done {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := slices.Clone(f.done)
	if f.current != nil {
		d := *f.current
		d.end = time.Now()
		d.err = errors.New("still in progress when the run ended")
		out = append(out, d)
	}
	return out
}

// do carries out one fault and undoes it after its hold.
func (f *faulter) do(ctx context.Context, ft fault) error {
	switch ft.Kind {
	case faultMMFKill, faultMMFDrain:
		_, i := parseTarget(ft.Target)
		sig := syscall.SIGKILL
		if ft.Kind == faultMMFDrain {
			sig = syscall.SIGTERM
		}
		return f.mmfs.fault(ctx, i, sig, ft.Hold)
	case faultCoreKill:
		svc, i := parseTarget(ft.Target)
		if err := f.core.srv.StopReplica(svc, i); err != nil {
			return err
		}
		hold(ctx, ft.Hold)
		return f.core.srv.RestartReplica(svc, i)
	case faultCoreDrain:
		// As when a pod is deleted: it leaves its Service's endpoints
		// while it drains.
		svc, i := parseTarget(ft.Target)
		if err := f.unlist(ctx, svc, i); err != nil {
			return err
		}
		dctx, cancel := context.WithTimeout(ctx, drainBound)
		err := f.core.srv.DrainReplica(dctx, svc, i)
		cancel()
		if err != nil {
			return err
		}
		hold(ctx, ft.Hold)
		if err := f.core.srv.RestartReplica(svc, i); err != nil {
			return err
		}
		return f.relist(ctx, svc, i)
	case faultRemove:
		svc, i := parseTarget(ft.Target)
		if err := f.unlist(ctx, svc, i); err != nil {
			return err
		}
		hold(ctx, ft.Hold)
		return f.relist(ctx, svc, i)
	case faultAdd:
		svc, i := parseTarget(ft.Target)
		if err := f.core.srv.RestartReplica(svc, i); err != nil {
			return err
		}
		if err := f.relist(ctx, svc, i); err != nil {
			return err
		}
		hold(ctx, ft.Hold)
		// Scaled down again: unlisted, then drained.
		if err := f.unlist(ctx, svc, i); err != nil {
			return err
		}
		dctx, cancel := context.WithTimeout(ctx, drainBound)
		defer cancel()
		return f.core.srv.DrainReplica(dctx, svc, i)
	default:
		return f.disc.breakFor(ctx, ft.Kind, ft.Hold)
	}
}

// unlist takes replica i of svc out of discovery; relist puts it back.
func (f *faulter) unlist(ctx context.Context, svc omtest.Service, i int) error {
	f.core.mu.Lock()
	idx := slices.DeleteFunc(slices.Clone(f.core.listed[svc]), func(j int) bool { return j == i })
	f.core.mu.Unlock()
	_, err := f.core.setListed(ctx, f.disc, svc, idx)
	return err
}

func (f *faulter) relist(ctx context.Context, svc omtest.Service, i int) error {
	f.core.mu.Lock()
	idx := slices.Clone(f.core.listed[svc])
	f.core.mu.Unlock()
	if !slices.Contains(idx, i) {
		idx = append(idx, i)
		slices.Sort(idx)
	}
	_, err := f.core.setListed(ctx, f.disc, svc, idx)
	return err
}
