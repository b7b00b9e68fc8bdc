package main

import (
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/clitest"
)

func TestBadInput(t *testing.T) {
	closed := clitest.ClosedAddr(t)
	clitest.RunCases(t, run, []clitest.Case{
		{Name: "unknown strategy", Args: []string{"-strategy", "dns"}, Code: cli.ExitUsage, Stderr: `-strategy "dns": want one of`},
		{Name: "endpointslice needs a cluster", Args: []string{"-strategy", "endpointslice"}, Code: cli.ExitUsage,
			Stderr: "-strategy endpointslice needs a Kubernetes API server"},
		{Name: "DNS outage under static", Args: []string{"-strategy", "static", "-faults", "dns-outage", "-out", t.TempDir()}, Code: cli.ExitUsage,
			Stderr: "fault dns-outage cannot happen to the static strategy in this run (it can have: mmf-kill, mmf-drain, core-kill, core-drain)"},
		{Name: "istiod restart under headless", Args: []string{"-strategy", "headless", "-faults", "mmf-kill,istiod-restart", "-out", t.TempDir()}, Code: cli.ExitUsage,
			Stderr: "fault istiod-restart cannot happen to the headless strategy"},
		{Name: "unknown fault", Args: []string{"-faults", "meteor", "-out", t.TempDir()}, Code: cli.ExitUsage, Stderr: `unknown fault "meteor"`},
		{Name: "duration too short", Args: []string{"-strategy", "headless", "-duration", "30s", "-out", t.TempDir()}, Code: cli.ExitUsage,
			Stderr: "-duration 30s is too short to place each of the 7 fault kinds once (mmf-kill, mmf-drain, core-kill, core-drain, remove, add, dns-outage): it needs at least 2m43s"},
		{Name: "half an external Open-Match", Args: []string{"-frontend", "127.0.0.1:1"}, Code: cli.ExitUsage, Stderr: "set all of -frontend, -backend and -query"},
		{Name: "external without mmf host", Args: []string{"-frontend", closed, "-backend", closed, "-query", closed}, Code: cli.ExitUsage,
			Stderr: "-mmf-host is required with a real Open-Match"},
		{Name: "mmf host without external", Args: []string{"-mmf-host", "10.0.0.1"}, Code: cli.ExitUsage, Stderr: "-mmf-host is for a real Open-Match"},
		{Name: "zero rate", Args: []string{"-rate", "0"}, Code: cli.ExitUsage, Stderr: "-rate"},
	})
}

// TestUnreachableCore: a core that does not answer is a clear error and a
// non-zero exit, and no report claims a pass.
func TestUnreachableCore(t *testing.T) {
	closed := clitest.ClosedAddr(t)
	out := t.TempDir()
	var stdout, stderr clitest.Output
	code := run(context.Background(), []string{"-frontend", closed, "-backend", closed, "-query", closed,
		"-mmf-host", "127.0.0.1", "-strategy", "static", "-faults", "none", "-out", out}, &stdout, &stderr)
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, stderr.String(), "the core does not answer within 15s")
	assert.Contains(t, stderr.String(), "frontend at "+closed)
	assert.NotContains(t, stdout.String(), "lost:")
	_, err := os.Stat(filepath.Join(out, "summary.txt"))
	assert.ErrorIs(t, err, os.ErrNotExist, "no report is written for a run that never started")
}

// TestInterrupted: an interrupt ends the run early and still writes the
// report, marked incomplete, with a non-zero exit.
func TestInterrupted(t *testing.T) {
	out := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr clitest.Output
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-strategy", "headless", "-duration", "10m", "-faults", "none", "-mmf-replicas", "2", "-out", out}, &stdout, &stderr)
	}()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second)
	defer wcancel()
	require.NoError(t, stdout.WaitFor(wctx, "faults on the schedule"))
	require.NoError(t, waitCreated(wctx, &stdout), "players create tickets before the interrupt")
	cancel()
	code := <-done
	assert.Equal(t, cli.ExitFailure, code)
	assert.Contains(t, stderr.String(), "the run was interrupted: the report is incomplete")
	sum, err := os.ReadFile(filepath.Join(out, "summary.txt"))
	require.NoError(t, err)
	assert.Contains(t, string(sum), "INCOMPLETE: the run was interrupted")
	assert.Contains(t, string(sum), "\nlost: ")
	for _, f := range []string{"soak.csv", "soak.svg"} {
		st, err := os.Stat(filepath.Join(out, f))
		require.NoError(t, err)
		assert.Positive(t, st.Size(), f)
	}
}

// waitCreated waits for a progress line with tickets created.
func waitCreated(ctx context.Context, out *clitest.Output) error {
	for {
		w, err := out.WordAfter(ctx, "created ")
		if err != nil {
			return err
		}
		if w != "0," {
			return nil
		}
		if err := out.WaitFor(ctx, "created 1"); err == nil {
			return nil
		}
	}
}

// TestPlan: the schedule is a function of the seed; every kind comes once
// per round; windows never overlap and all end before the tail.
func TestPlan(t *testing.T) {
	kinds := []string{faultMMFKill, faultCoreDrain, faultRemove, faultDNSOutage}
	tm := timing{warmup: 10 * time.Second, grace: 5 * time.Second, gap: 10 * time.Second, tail: 10 * time.Second}
	target := targetOf(3)
	a, err := plan(kinds, 10*time.Minute, tm, 7, target)
	require.NoError(t, err)
	b, err := plan(kinds, 10*time.Minute, tm, 7, target)
	require.NoError(t, err)
	c, err := plan(kinds, 10*time.Minute, tm, 8, target)
	require.NoError(t, err)
	assert.Equal(t, a, b, "same seed, same schedule")
	assert.NotEqual(t, a, c, "another seed, another schedule")

	round := len(kinds)
	require.GreaterOrEqual(t, len(a), 3*round, "ten minutes hold several rounds")
	for r := 0; r+round <= len(a); r += round {
		var got []string
		for _, f := range a[r : r+round] {
			got = append(got, f.Kind)
		}
		assert.ElementsMatch(t, kinds, got, "round at %d", r/round)
	}
	end := time.Duration(0)
	for _, f := range a {
		assert.GreaterOrEqual(t, f.At, end+tm.gap-time.Nanosecond, "%v starts after the previous window and the gap", f)
		end = f.At + tm.window(f)
		assert.LessOrEqual(t, end+tm.tail, 10*time.Minute)
	}
	assert.Equal(t, tm.warmup, a[0].At)

	_, err = plan(kinds, time.Minute, tm, 7, target)
	require.ErrorContains(t, err, "-duration 1m0s is too short")
}

// TestTargets: every target names something the run has.
func TestTargets(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	target := targetOf(3)
	for range 200 {
		for _, k := range []string{faultMMFKill, faultCoreKill, faultRemove, faultAdd} {
			tg := target(rng, k)
			svc, i := parseTarget(tg)
			switch k {
			case faultMMFKill:
				assert.Equal(t, "mmf", string(svc))
				assert.Less(t, i, 3)
			case faultAdd:
				assert.Contains(t, coreServices, svc)
				assert.Equal(t, listedReplicas, i, "add starts the replica that is not listed")
			default:
				assert.Contains(t, coreServices, svc)
				assert.Less(t, i, listedReplicas)
			}
		}
	}
	assert.True(t, strings.HasPrefix(target(rng, faultDNSOutage), "dns"))
}
