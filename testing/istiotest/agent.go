// Package istiotest fakes the part of an Istio sidecar that a pod's app can
// see: the agent's readiness endpoint (GET /healthz/ready, normally on
// 127.0.0.1:15021) and Envoy's admin readiness endpoint (GET /ready, normally
// on 127.0.0.1:15000), both served by one HTTP server on 127.0.0.1:0.
//
// Use it to test code that waits for a sidecar, such as balancer.Sidecar,
// without Istio: point the probe addresses at Agent.Addr and flip SetReady.
//
// Proxy fakes the sidecar's outbound listener for gRPC traffic: an HTTP/2
// proxy that balances each call over its upstreams and retries it like
// Envoy on the route Istio generates by default. Serve its address under the
// service name (testing/dnstest) to test the sidecar path with the retries a
// real mesh adds.
package istiotest

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"sync"
	"testing"

	"github.com/meshmatch/meshmatch/internal/counter"
)

// Agent is a fake Istio agent. Its methods are safe for concurrent use.
type Agent struct {
	srv  *http.Server
	lis  net.Listener
	done chan struct{}

	mu       sync.Mutex
	ready    bool
	requests counter.Counter
	closed   bool
}

// NewAgent starts an agent that reports ready and closes it on t.Cleanup.
func NewAgent(t testing.TB) *Agent {
	t.Helper()
	a, err := StartAgent()
	if err != nil {
		t.Fatalf("istiotest: %v", err)
	}
	t.Cleanup(a.Close)
	return a
}

// StartAgent starts an agent that reports ready. The caller must Close it.
func StartAgent() (*Agent, error) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("istiotest: listen: %w", err)
	}
	a := &Agent{lis: lis, ready: true, done: make(chan struct{})}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz/ready", a.healthz)
	mux.HandleFunc("GET /ready", a.envoyReady)
	a.srv = &http.Server{Handler: mux}
	go func() {
		defer close(a.done)
		_ = a.srv.Serve(lis)
	}()
	return a, nil
}

// Addr returns the agent's "127.0.0.1:port".
func (a *Agent) Addr() string { return a.lis.Addr().String() }

// SetReady sets what the agent reports from the next request on.
func (a *Agent) SetReady(ready bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ready = ready
}

// Requests returns how many readiness requests the agent has answered.
func (a *Agent) Requests() int64 { return a.requests.Load() }

// WaitRequests waits until the agent has answered at least n requests in
// all, or ctx is done.
func (a *Agent) WaitRequests(ctx context.Context, n int64) error {
	if got, err := a.requests.Wait(ctx, n); err != nil {
		return fmt.Errorf("istiotest: %d requests, want %d: %w", got, n, err)
	}
	return nil
}

// Close stops the agent and waits for its handlers. It is idempotent.
func (a *Agent) Close() {
	a.mu.Lock()
	closed := a.closed
	a.closed = true
	a.mu.Unlock()
	if !closed {
		_ = a.srv.Close()
	}
	<-a.done
}

// request counts a request and returns the readiness to report.
func (a *Agent) request() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.requests.Add()
	return a.ready
}

func (a *Agent) healthz(w http.ResponseWriter, _ *http.Request) {
	if !a.request() {
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (a *Agent) envoyReady(w http.ResponseWriter, _ *http.Request) {
	if !a.request() {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "PRE_INITIALIZING")
		return
	}
	fmt.Fprintln(w, "LIVE")
}
