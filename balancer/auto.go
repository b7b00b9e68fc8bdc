package balancer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/dnsresolver"
)

// Defaults of Auto.
const (
	DefaultGate             = 3 * time.Second
	DefaultDetectTimeout    = 5 * time.Second
	DefaultRedetectInterval = 10 * time.Second
)

// Auto tries a chain of strategies in order and falls back at run time. Use
// it when the same program runs in clusters with and without a mesh; omclient
// does by default, with the xDS strategy between sidecar and headless.
//
// Dial returns at once. In the background every strategy's Detect runs
// concurrently, bounded by DetectTimeout; the first available strategy in
// chain order is dialed and gets Gate to reach READY, else the next available
// one is dialed, and so on. Strategies above the one in use that were not
// available are detected again every RedetectInterval. Calls made before that decision wait for it
// within their own deadline. Later, when the strategy in use has not been
// READY for longer than Gate while a lower one is READY, calls move down; they
// move back up as soon as a higher strategy is READY again (its connection is
// kept open and watched). Each decision is logged and readable through the
// Reporter interface of the returned Conn.
//
// To force one strategy, pass only that one. The zero value uses Sidecar then
// Headless.
type Auto struct {
	// Strategies is the chain, highest priority first. Empty means
	// Sidecar{} then Headless{}.
	Strategies []Strategy
	// Gate is how long a chosen strategy gets to reach READY (or to recover
	// from failing) before the next one is used. Zero means DefaultGate.
	Gate time.Duration
	// DetectTimeout bounds each strategy's Detect. Zero means
	// DefaultDetectTimeout.
	DetectTimeout time.Duration
	// RedetectInterval is how often strategies above the one in use that
	// were not available are detected again (a sidecar that became ready
	// late, istiod that came up). Zero means DefaultRedetectInterval.
	RedetectInterval time.Duration
	// Logger receives every detection and decision. nil discards.
	Logger *slog.Logger
}

// Name returns "auto".
func (Auto) Name() string { return "auto" }

// Detect reports Auto available when any strategy of the chain is; the
// reason names the one Choose would pick.
func (a Auto) Detect(ctx context.Context, addr string) Detection {
	dec := a.Choose(ctx, addr)
	return Detection{Strategy: a.Name(), Available: dec.Strategy != "", Reason: dec.Reason, At: dec.At}
}

// Choose runs every strategy's Detect (concurrently, within ctx and
// DetectTimeout) and returns the strategy a connection would start with and
// why, without dialing anything.
func (a Auto) Choose(ctx context.Context, addr string) Decision {
	chain := a.chain()
	ctx, cancel := context.WithTimeout(ctx, a.detectTimeout())
	defer cancel()
	dets := make([]Detection, len(chain))
	var wg sync.WaitGroup
	for i, s := range chain {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dets[i] = detect(ctx, s, addr)
		}()
	}
	wg.Wait()
	dec := Decision{Detections: dets, At: time.Now()}
	for _, d := range dets {
		if d.Available {
			dec.Strategy = d.Strategy
			dec.Reason = "first available strategy in the chain: " + d.Reason
			return dec
		}
	}
	dec.Reason = noneAvailable(addr, dets).Error()
	return dec
}

// Dial returns a connection that picks its strategy in the background. It
// does no I/O and fails only for an invalid addr.
func (a Auto) Dial(addr string, opts ...grpc.DialOption) (Conn, error) {
	if _, _, err := dnsresolver.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("balancer: auto: %w", err)
	}
	return newAutoConn(a, addr, opts), nil
}

func (a Auto) chain() []Strategy {
	if len(a.Strategies) == 0 {
		return []Strategy{Sidecar{Logger: a.Logger}, Headless{Logger: a.Logger}}
	}
	return a.Strategies
}

func (a Auto) gate() time.Duration {
	if a.Gate <= 0 {
		return DefaultGate
	}
	return a.Gate
}

func (a Auto) redetectInterval() time.Duration {
	if a.RedetectInterval <= 0 {
		return DefaultRedetectInterval
	}
	return a.RedetectInterval
}

func (a Auto) detectTimeout() time.Duration {
	if a.DetectTimeout <= 0 {
		return DefaultDetectTimeout
	}
	return a.DetectTimeout
}

// detect runs s.Detect and fills in what s left empty.
func detect(ctx context.Context, s Strategy, addr string) Detection {
	d := s.Detect(ctx, addr)
	if d.Strategy == "" {
		d.Strategy = s.Name()
	}
	if d.At.IsZero() {
		d.At = time.Now()
	}
	return d
}

// noneAvailable is the error of a connection whose chain has no available
// strategy.
func noneAvailable(addr string, dets []Detection) error {
	parts := make([]string, len(dets))
	for i, d := range dets {
		parts[i] = d.Strategy + ": " + d.Reason
	}
	return fmt.Errorf("balancer: auto: no strategy available for %s (%s)", addr, strings.Join(parts, "; "))
}
