//go:build istiod

package istiod

import (
	"context"
	"fmt"
	"os/exec"
	"syscall"
	"time"
)

// stopGrace is how long istiod gets to exit after SIGTERM before SIGKILL.
const stopGrace = 5 * time.Second

// process is one run of the istiod binary.
type process struct {
	cmd    *exec.Cmd
	log    *lineLog
	exited chan struct{} // closed once the process has exited
	err    error         // Wait's result, set before exited is closed
}

func startProcess(bin string, args, env []string) (*process, error) {
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.SysProcAttr = sysProcAttr()
	p := &process{cmd: cmd, log: newLineLog(), exited: make(chan struct{})}
	cmd.Stdout = p.log
	cmd.Stderr = p.log
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("istiod: start %s: %w", bin, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

func (p *process) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// kill sends SIGKILL and waits for the exit.
func (p *process) kill() {
	if p.running() {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	<-p.exited
}

// stop sends SIGTERM, then SIGKILL after stopGrace, and waits for the exit.
func (p *process) stop() {
	if !p.running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	grace := time.NewTimer(stopGrace)
	defer grace.Stop()
	select {
	case <-p.exited:
	case <-grace.C:
		p.kill()
	}
}

// waitLine waits for a line at index from or later containing substr and
// returns it. It fails when ctx ends or the process exits first.
func (p *process) waitLine(ctx context.Context, from int, substr string) (string, error) {
	for {
		i, line, changed := p.log.find(from, substr)
		if i >= 0 {
			return line, nil
		}
		select {
		case <-changed:
		case <-p.exited:
			if i, line, _ := p.log.find(from, substr); i >= 0 {
				return line, nil
			}
			return "", fmt.Errorf("istiod exited (%v) before printing %q", p.err, substr)
		case <-ctx.Done():
			return "", fmt.Errorf("istiod did not print %q: %w", substr, ctx.Err())
		}
	}
}
