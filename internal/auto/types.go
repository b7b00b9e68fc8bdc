package auto

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
)

// Detection mirrors balancer.Detection (same fields, so the two convert).
type Detection struct {
	Strategy  string
	Available bool
	Reason    string
	At        time.Time
}

// Decision mirrors balancer.Decision.
type Decision struct {
	Strategy   string
	Kind       string
	Reason     string
	At         time.Time
	Detections []Detection
}

// Dialed is what a strategy's Dial returns; balancer.Conn satisfies it.
type Dialed interface {
	grpc.ClientConnInterface
	GetState() connectivity.State
	WaitForStateChange(ctx context.Context, source connectivity.State) bool
	Connect()
	Close() error
}

// Strategy is one element of the chain, bound to the address.
type Strategy struct {
	// Name is the strategy's name.
	Name string
	// Detect reports whether the strategy can serve the address.
	Detect func(ctx context.Context) Detection
	// Dial connects to the address (no blocking I/O).
	Dial func() (Dialed, error)
}

// Config configures one connection. Every duration must be positive.
type Config struct {
	Addr  string
	Chain []Strategy
	// Gate is how long a dialed strategy gets to reach READY (or to recover)
	// before the next one is used.
	Gate time.Duration
	// DetectTimeout bounds each Detect.
	DetectTimeout time.Duration
	// Redetect is how often strategies above the one in use are detected
	// again, and how long a dialed one above may stay not READY before it is
	// closed and dialed again.
	Redetect time.Duration
	// Stable is how long a higher strategy must stay READY before calls move
	// up to it.
	Stable time.Duration
	// Logger receives detections and decisions; never nil.
	Logger *slog.Logger
	// OnDecision, when set, is called by the supervisor with every decision
	// it makes (each choice of a strategy, and "none available"). It must
	// not block.
	OnDecision func(Decision)
}

// Kinds of decision, the Kind of a Decision.
const (
	KindDetected = "detected"  // the first strategy of the chain to reach READY
	KindFallback = "fallback"  // first decision, after a higher one missed its gate
	KindMoveDown = "move_down" // the one in use failed; moved to a lower one
	KindMoveUp   = "move_up"   // a higher one has been READY for Stable
	KindNone     = "none"      // no strategy of the chain is available
)
