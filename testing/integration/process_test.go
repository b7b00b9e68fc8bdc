//go:build integration

package integration

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"
)

// stopGrace is how long a server gets to exit after SIGTERM before it is
// killed.
const stopGrace = 5 * time.Second

// process is a server started for one test. Its stdout and stderr go to an
// in-memory log that tests can wait on.
type process struct {
	name   string
	log    *lineLog
	exited chan struct{} // closed once the process has exited
	err    error         // the result of Wait, set before exited is closed
}

// startProcess starts path with args. On t.Cleanup the process gets SIGTERM
// (SIGKILL after stopGrace) and is waited for; when t failed, its output is
// written to the test log.
func startProcess(t testing.TB, name, path string, args ...string) (*process, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = stopGrace
	cmd.SysProcAttr = sysProcAttr()
	p := &process{name: name, log: newLineLog(), exited: make(chan struct{})}
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		cancel()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		cancel()
		<-p.exited
		if t.Failed() {
			t.Logf("%s %s output:\n%s", name, strings.Join(args, " "), p.log)
		}
	})
	return p, nil
}

// running reports whether the process has not exited yet.
func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// waitLine waits for a line of output at index from or later that contains
// substr, and returns its index. It fails when ctx ends or the process exits
// first.
func (p *process) waitLine(ctx context.Context, from int, substr string) (int, error) {
	for {
		i, changed := p.log.find(from, substr)
		if i >= 0 {
			return i, nil
		}
		select {
		case <-changed:
		case <-p.exited:
			if i, _ := p.log.find(from, substr); i >= 0 {
				return i, nil
			}
			return -1, fmt.Errorf("%s exited (%v) before printing %q", p.name, p.err, substr)
		case <-ctx.Done():
			return -1, fmt.Errorf("%s did not print %q: %w", p.name, substr, ctx.Err())
		}
	}
}

// waitLines waits for n lines at index from or later that contain substr,
// and returns the index of the nth.
func (p *process) waitLines(ctx context.Context, from, n int, substr string) (int, error) {
	i := from - 1
	for k := range n {
		var err error
		if i, err = p.waitLine(ctx, i+1, substr); err != nil {
			return -1, fmt.Errorf("line %d of %d: %w", k+1, n, err)
		}
	}
	return i, nil
}

// exitedWith reports whether the process has exited after printing substr.
func (p *process) exitedWith(substr string) bool {
	return !p.running() && strings.Contains(p.log.String(), substr)
}
