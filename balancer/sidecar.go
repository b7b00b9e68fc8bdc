package balancer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/internal/dnsresolver"
	"github.com/meshmatch/meshmatch/internal/probe"
)

// Default probe addresses and readiness bound of Sidecar.
const (
	DefaultSidecarProbeAddr    = "127.0.0.1:15021"
	DefaultSidecarAdminAddr    = "127.0.0.1:15000"
	DefaultSidecarReadyTimeout = 10 * time.Second
)

// probeInterval is the time between two readiness probes.
const probeInterval = 100 * time.Millisecond

// Sidecar sends calls through an Istio sidecar: the connection dials the
// service name in plaintext and Envoy balances per request and adds mTLS. Use
// it in pods with an injected sidecar. Ambient mode (ztunnel, no agent on
// 15021) is not a sidecar and balances per connection only; there Headless
// is the better choice.
//
// It is available when the Istio agent reports ready on ProbeAddr
// (GET /healthz/ready → 200), or, when nothing answers there, Envoy's admin
// endpoint on AdminAddr does (GET /ready → 200 "LIVE"). Apps often start
// before their sidecar: Detect waits within its context for an agent that
// answers but is not ready yet, and the calls of a fresh connection wait,
// within their own deadline, until the agent is ready or ReadyTimeout has
// passed since Dial (after which calls go ahead and fail or succeed on their
// own).
//
// The connection balances round robin over what DNS returns for the name
// (one VIP for a ClusterIP Service), re-resolved like Headless. The zero value
// is ready to use.
type Sidecar struct {
	// ProbeAddr is the Istio agent's readiness address. Empty means
	// DefaultSidecarProbeAddr.
	ProbeAddr string
	// AdminAddr is Envoy's admin address. Empty means DefaultSidecarAdminAddr.
	AdminAddr string
	// ReadyTimeout bounds how long calls of a new connection wait for the
	// sidecar to become ready, and how long Detect waits. Zero means
	// DefaultSidecarReadyTimeout.
	ReadyTimeout time.Duration
	// DNS configures the lookups of the service name, as in Headless.
	DNS
	// Logger receives readiness and address changes. nil discards.
	Logger *slog.Logger
}

// Name returns "sidecar".
func (Sidecar) Name() string { return "sidecar" }

// Detect reports whether an Istio sidecar is ready. It waits, within ctx and
// ReadyTimeout, for an agent that answers but is not ready yet.
func (s Sidecar) Detect(ctx context.Context, addr string) Detection {
	d := Detection{Strategy: s.Name()}
	if _, _, err := dnsresolver.SplitHostPort(addr); err != nil {
		d.Reason, d.At = err.Error(), time.Now()
		return d
	}
	ctx, cancel := context.WithTimeout(ctx, s.readyTimeout())
	defer cancel()
	d.Available, d.Reason = s.waitReady(ctx)
	d.At = time.Now()
	return d
}

// Dial returns a plaintext round_robin connection to addr whose calls wait
// for the sidecar to be ready. Transport credentials in opts are replaced by
// plaintext: the sidecar does mTLS.
func (s Sidecar) Dial(addr string, opts ...grpc.DialOption) (Conn, error) {
	b, err := Headless{DNS: s.DNS, Logger: s.Logger}.builder(sidecarScheme, addr)
	if err != nil {
		return nil, fmt.Errorf("balancer: sidecar: %w", err)
	}
	plaintext := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	cc, err := dialRoundRobin(b, addr, nil, opts, plaintext)
	if err != nil {
		return nil, fmt.Errorf("balancer: sidecar: %w", err)
	}
	return newGatedConn(cc, s), nil
}

// waitReady probes until the sidecar is ready, ctx is done, or nothing
// answers. It returns whether it is ready and why.
func (s Sidecar) waitReady(ctx context.Context) (bool, string) {
	timer := time.NewTimer(0)
	defer timer.Stop()
	var last string // reason of the last probe the agent answered
	for {
		ready, answered, reason := s.probe(ctx)
		if !ready && !answered && last != "" && ctx.Err() != nil {
			// The deadline cut this probe short; the agent was there.
			return false, fmt.Sprintf("%s: %v", last, ctx.Err())
		}
		if ready || !answered {
			return ready, reason
		}
		last = reason
		timer.Reset(probeInterval)
		select {
		case <-ctx.Done():
			return false, fmt.Sprintf("%s: %v", reason, ctx.Err())
		case <-timer.C:
		}
	}
}

// probe asks the Istio agent, then (when it does not answer) Envoy's admin
// endpoint.
func (s Sidecar) probe(ctx context.Context) (ready, answered bool, reason string) {
	agent := s.probeAddr()
	r := probe.Istio(ctx, agent)
	switch {
	case r.Ready:
		return true, true, "istio agent ready at " + agent
	case r.Answered:
		return false, true, fmt.Sprintf("istio agent at %s answers but is not ready (%s)", agent, r.Detail)
	}
	admin := s.adminAddr()
	e := probe.Envoy(ctx, admin)
	switch {
	case e.Ready:
		return true, true, "envoy admin ready at " + admin
	case e.Answered:
		return false, true, fmt.Sprintf("no istio agent at %s; envoy admin at %s answers but is not ready (%s)", agent, admin, e.Detail)
	}
	return false, false, fmt.Sprintf("no istio agent at %s, no envoy admin at %s (%s)", agent, admin, e.Detail)
}

func (s Sidecar) probeAddr() string { return or(s.ProbeAddr, DefaultSidecarProbeAddr) }
func (s Sidecar) adminAddr() string { return or(s.AdminAddr, DefaultSidecarAdminAddr) }

func (s Sidecar) readyTimeout() time.Duration { return or(s.ReadyTimeout, DefaultSidecarReadyTimeout) }

// or returns v, or def when v is the zero value (or, for durations, not
// positive).
func or[T string | time.Duration](v, def T) T {
	var zero T
	if v <= zero {
		return def
	}
	return v
}
