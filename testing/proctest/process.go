package proctest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// DefaultStopGrace is how long Stop waits after SIGTERM before SIGKILL when
// Config.StopGrace is zero. kube-apiserver takes several seconds to exit on
// SIGTERM (graceful shutdown); the others exit at once.
const DefaultStopGrace = 10 * time.Second

// Config says how to start a process. Only Path is required.
type Config struct {
	// Name is used in errors and logs; the base name of Path when empty.
	Name string
	Path string
	Args []string
	// Env is the whole environment; nil inherits the test binary's.
	Env []string
	// Dir is the working directory; empty is the test binary's.
	Dir string
	// StopGrace bounds Stop's wait after SIGTERM; DefaultStopGrace when zero.
	StopGrace time.Duration
}

// Process is one run of a binary.
type Process struct {
	cfg    Config
	cmd    *exec.Cmd
	log    *lineLog
	exited chan struct{} // closed once the process has exited
	err    error         // Wait's result, set before exited is closed
}

// Start starts the process. Its stdout and stderr both go to its log. The
// kernel kills it if the test binary dies first (Linux), so no server
// outlives a crashed test.
func Start(cfg Config) (*Process, error) {
	if cfg.Path == "" {
		return nil, errors.New("proctest: Config.Path is empty")
	}
	if cfg.Name == "" {
		cfg.Name = baseName(cfg.Path)
	}
	if cfg.StopGrace <= 0 {
		cfg.StopGrace = DefaultStopGrace
	}
	cmd := exec.Command(cfg.Path, cfg.Args...)
	cmd.Env, cmd.Dir = cfg.Env, cfg.Dir
	cmd.SysProcAttr = sysProcAttr()
	// Wait returns once the process has exited even when a child it left
	// behind still holds the output pipe.
	cmd.WaitDelay = time.Second
	p := &Process{cfg: cfg, cmd: cmd, log: newLineLog(), exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.log, p.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("proctest: start %s: %w", cfg.Name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// StartT starts the process for test t: it fails t when the process cannot
// start, stops it in t's cleanup, and writes its output to t's log when t
// failed.
func StartT(t testing.TB, cfg Config) *Process {
	t.Helper()
	p, err := Start(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("%s output (%s %s):\n%s", p.cfg.Name, p.cfg.Path, strings.Join(p.cfg.Args, " "), p.Tail(200))
		}
	})
	return p
}

func baseName(path string) string {
	if i := strings.LastIndexByte(path, '/'); i >= 0 {
		return path[i+1:]
	}
	return path
}

// Name returns the name used in errors and logs.
func (p *Process) Name() string { return p.cfg.Name }

// Pid returns the process id.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Exited returns a channel closed once the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Running reports whether the process has not exited yet.
func (p *Process) Running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// Err returns the process's exit error once it has exited (nil for a zero
// exit status), and nil while it runs.
func (p *Process) Err() error {
	if p.Running() {
		return nil
	}
	return p.err
}

// Signal sends sig unless the process has exited.
func (p *Process) Signal(sig os.Signal) error {
	if !p.Running() {
		return fmt.Errorf("proctest: %s has exited (%v)", p.cfg.Name, p.err)
	}
	return p.cmd.Process.Signal(sig)
}

// Kill sends SIGKILL to the process and every process of its group (the
// children it started), and waits for the exit.
func (p *Process) Kill() {
	if p.Running() {
		killGroup(p.cmd.Process)
	}
	<-p.exited
}

// Stop sends SIGTERM, then SIGKILL after the stop grace, and waits for the
// exit; then it kills whatever the process left behind in its group.
// Stopping a process that has exited does nothing.
func (p *Process) Stop() {
	if p.Signal(syscall.SIGTERM) != nil {
		<-p.exited
		return
	}
	grace := time.NewTimer(p.cfg.StopGrace)
	defer grace.Stop()
	select {
	case <-p.exited:
		killGroup(p.cmd.Process)
	case <-grace.C:
		p.Kill()
	}
}

// Lines returns how many complete lines the process has printed; pass it as
// from to WaitLine to wait only for what comes next.
func (p *Process) Lines() int { return p.log.count() }

// Tail returns the last n lines of output (all kept lines when n <= 0).
func (p *Process) Tail(n int) string { return p.log.tail(n) }

// WaitLine waits for a line at index from or later that contains substr and
// returns its index and text. It fails when ctx ends or the process exits
// first, with the last lines of output in the error.
func (p *Process) WaitLine(ctx context.Context, from int, substr string) (int, string, error) {
	for {
		i, line, changed := p.log.find(from, substr)
		if i >= 0 {
			return i, line, nil
		}
		select {
		case <-changed:
		case <-p.exited:
			if i, line, _ := p.log.find(from, substr); i >= 0 {
				return i, line, nil
			}
			return -1, "", fmt.Errorf("proctest: %s exited (%v) before printing %q; last output:\n%s", p.cfg.Name, p.err, substr, p.Tail(20))
		case <-ctx.Done():
			return -1, "", fmt.Errorf("proctest: %s did not print %q: %w; last output:\n%s", p.cfg.Name, substr, ctx.Err(), p.Tail(20))
		}
	}
}

// WaitLines waits for n lines at index from or later that contain substr and
// returns the index of the nth.
func (p *Process) WaitLines(ctx context.Context, from, n int, substr string) (int, error) {
	i := from - 1
	for k := range n {
		var err error
		if i, _, err = p.WaitLine(ctx, i+1, substr); err != nil {
			return -1, fmt.Errorf("line %d of %d: %w", k+1, n, err)
		}
	}
	return i, nil
}

// WaitReady calls ready until it returns nil, every interval, and fails when
// ctx ends or the process exits first, with ready's last error.
func (p *Process) WaitReady(ctx context.Context, interval time.Duration, ready func(context.Context) error) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		err := ready(ctx)
		if err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-p.exited:
			return fmt.Errorf("proctest: %s exited (%v) before it was ready (%v); last output:\n%s", p.cfg.Name, p.err, err, p.Tail(20))
		case <-ctx.Done():
			return fmt.Errorf("proctest: %s not ready: %w (last check: %v); last output:\n%s", p.cfg.Name, ctx.Err(), err, p.Tail(20))
		}
	}
}
