package kubetest

import (
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

// daemon is a control-plane process a test stops, kills and starts again
// (CoreDNS, istiod): the same binary and arguments every time, and an HTTP
// client for its readiness and debug ports.
type daemon struct {
	cfg  proctest.Config
	http *http.Client

	mu   sync.Mutex
	proc *proctest.Process
}

func newDaemon(cfg proctest.Config) daemon {
	return daemon{cfg: cfg, http: &http.Client{Transport: &http.Transport{Proxy: nil}}}
}

// spawn starts the process unless it runs; the caller waits for readiness.
func (d *daemon) spawn() (*proctest.Process, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc != nil && d.proc.Running() {
		return nil, errors.New("kubetest: " + d.cfg.Name + " is already running")
	}
	p, err := proctest.Start(d.cfg)
	if err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	d.proc = p
	return p, nil
}

// Stop stops the process (SIGTERM) and waits for it to exit.
func (d *daemon) Stop() { d.withProc((*proctest.Process).Stop) }

// Kill kills the process (SIGKILL), as a crashed or evicted pod goes.
func (d *daemon) Kill() { d.withProc((*proctest.Process).Kill) }

func (d *daemon) withProc(f func(*proctest.Process)) {
	d.mu.Lock()
	p := d.proc
	d.mu.Unlock()
	if p != nil {
		f(p)
	}
	d.http.CloseIdleConnections()
}

// Running reports whether the process is running.
func (d *daemon) Running() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.proc != nil && d.proc.Running()
}

// Log returns the last n lines the process printed.
func (d *daemon) Log(n int) string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.proc == nil {
		return "(never started)"
	}
	return d.proc.Tail(n)
}
