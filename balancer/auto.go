package balancer

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/auto"
	"github.com/meshmatch/meshmatch/internal/dnsresolver"
)

// Defaults of Auto.
const (
	DefaultGate             = 3 * time.Second
	DefaultDetectTimeout    = 5 * time.Second
	DefaultRedetectInterval = 10 * time.Second
	DefaultStable           = 2 * time.Second
)

// Auto tries a chain of strategies in order and falls back at run time. Use
// it when the same program runs in clusters with and without a mesh; omclient
// does by default, with the xDS strategy between sidecar and headless.
//
// Dial returns at once. In the background every strategy's Detect runs
// concurrently, bounded by DetectTimeout; the first available strategy in
// chain order is dialed and gets Gate to reach READY, else the next available
// one is dialed, and so on. Calls made before that decision wait for it
// within their own deadline; while the strategy being gated is failing, it
// is probed with a fail-fast health check (never with the caller's request)
// so that a call whose deadline passes first reports the cause, such as
// "connection refused".
//
// Later, when the strategy in use has not been READY for longer than Gate
// while a lower one is READY, calls move down. A higher strategy is kept
// open and watched; calls move back up once it has stayed READY for Stable,
// so that a flapping sidecar or istiod does not make calls switch back and
// forth. Strategies above the one in use that were not available are
// detected again every RedetectInterval, and one that was dialed but has not
// been READY for RedetectInterval is closed and dialed again, so that moving
// up takes at most about RedetectInterval + one connect + Stable, not
// grpc-go's reconnect backoff (up to 120 s). Once the strategy in use is
// READY, every strategy below it is closed (its calls finish first): no
// connections, DNS polling or keepalives are left behind. Each decision is
// logged and readable through the Reporter interface of the returned Conn.
//
// To force one strategy, pass only that one. The zero value's chain is
// exactly Sidecar{Logger: Logger} then Headless{Logger: Logger}; it has no
// xDS strategy, because this package does not import package xds.
type Auto struct {
	// Strategies is the chain, highest priority first. Empty means
	// Sidecar{} then Headless{} (each with Logger).
	Strategies []Strategy
	// Gate is how long a chosen strategy gets to reach READY (or to recover
	// from failing) before the next one is used. Zero means DefaultGate.
	Gate time.Duration
	// DetectTimeout bounds each strategy's Detect. Zero means
	// DefaultDetectTimeout.
	DetectTimeout time.Duration
	// RedetectInterval is how often strategies above the one in use that
	// were not available are detected again (a sidecar that became ready
	// late, istiod that came up), and how long a dialed one above may stay
	// not READY before it is dialed again. Zero means
	// DefaultRedetectInterval.
	RedetectInterval time.Duration
	// Stable is how long a higher strategy must stay READY before calls move
	// up to it. Zero means DefaultStable.
	Stable time.Duration
	// Logger receives every detection that differs from the previous one of
	// its strategy, every decision, and state changes (debug). nil discards.
	Logger *slog.Logger
	// OnDecision, when set, is called with every decision a connection of
	// this Auto makes: the first choice ("detected", or "fallback" when a
	// higher strategy missed its gate), "move_down", "move_up", and "none"
	// when no strategy is available. It runs on the connection's supervisor
	// goroutine and must not block. omclient counts decisions with it.
	OnDecision func(Decision)
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
	ctx, cancel := context.WithTimeout(ctx, or(a.DetectTimeout, DefaultDetectTimeout))
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
	dec.Reason = noneAvailable(addr, dets)
	return dec
}

// Dial returns a connection that picks its strategy in the background. It
// does no I/O and fails only for an invalid addr.
func (a Auto) Dial(addr string, opts ...grpc.DialOption) (Conn, error) {
	if _, _, err := dnsresolver.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("balancer: auto: %w", err)
	}
	chain := a.chain()
	cfg := auto.Config{
		Addr:          addr,
		Chain:         make([]auto.Strategy, len(chain)),
		Gate:          or(a.Gate, DefaultGate),
		DetectTimeout: or(a.DetectTimeout, DefaultDetectTimeout),
		Redetect:      or(a.RedetectInterval, DefaultRedetectInterval),
		Stable:        or(a.Stable, DefaultStable),
		Logger:        logger(a.Logger),
	}
	if a.OnDecision != nil {
		cfg.OnDecision = func(d auto.Decision) { a.OnDecision(fromAuto(d)) }
	}
	for i, s := range chain {
		cfg.Chain[i] = bind(s, addr, opts)
	}
	return autoConn{auto.New(cfg)}, nil
}

// bind ties s to addr and opts for the supervisor.
func bind(s Strategy, addr string, opts []grpc.DialOption) auto.Strategy {
	return auto.Strategy{
		Name:   s.Name(),
		Detect: func(ctx context.Context) auto.Detection { return auto.Detection(detect(ctx, s, addr)) },
		Dial: func() (auto.Dialed, error) {
			c, err := s.Dial(addr, opts...)
			if err != nil {
				return nil, err
			}
			return c, nil
		},
	}
}

// autoConn is the Conn Auto.Dial returns.
type autoConn struct{ *auto.Conn }

// Decision returns the connection's current decision.
func (c autoConn) Decision() Decision { return fromAuto(c.Conn.Decision()) }

// fromAuto converts the supervisor's decision.
func fromAuto(d auto.Decision) Decision {
	dets := make([]Detection, len(d.Detections))
	for i, det := range d.Detections {
		dets[i] = Detection(det)
	}
	return Decision{Strategy: d.Strategy, Kind: d.Kind, Reason: d.Reason, At: d.At, Detections: dets}
}

func (a Auto) chain() []Strategy {
	if len(a.Strategies) == 0 {
		return []Strategy{Sidecar{Logger: a.Logger}, Headless{Logger: a.Logger}}
	}
	return a.Strategies
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

// noneAvailable is the reason of a chain with no available strategy.
func noneAvailable(addr string, dets []Detection) string {
	parts := make([]string, len(dets))
	for i, d := range dets {
		parts[i] = d.Strategy + ": " + d.Reason
	}
	return fmt.Sprintf("balancer: auto: no strategy available for %s (%s)", addr, strings.Join(parts, "; "))
}
