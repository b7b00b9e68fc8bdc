package balancer

import (
	"context"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
)

// Strategy is one way of reaching an Open-Match service from inside a cluster.
//
// A Strategy is a value: it holds configuration and may be shared by many
// connections. Implementations must be safe for concurrent use.
type Strategy interface {
	// Name is a short, stable, lower-case name such as "sidecar", "xds",
	// "headless" or "static".
	Name() string

	// Detect reports whether the strategy can serve addr ("host:port") in the
	// environment the process runs in. It returns by ctx's deadline at the
	// latest; a strategy that cannot tell by then reports Available false.
	Detect(ctx context.Context, addr string) Detection

	// Dial returns a connection to addr ("host:port"). Like grpc.NewClient it
	// does no blocking I/O: name resolution and connecting happen in the
	// background. opts are the caller's dial options (keepalive, credentials,
	// interceptors); the strategy appends its own resolver and balancing
	// options after them.
	Dial(addr string, opts ...grpc.DialOption) (Conn, error)
}

// Conn is a connection made by a Strategy. *grpc.ClientConn implements it.
type Conn interface {
	grpc.ClientConnInterface

	// GetState returns the connectivity state of the connection.
	GetState() connectivity.State
	// WaitForStateChange waits until the state differs from source or ctx is
	// done; it reports whether the state changed.
	WaitForStateChange(ctx context.Context, source connectivity.State) bool
	// Connect makes an idle connection start connecting.
	Connect()
	// Close releases every resource of the connection. It is idempotent.
	Close() error
}

// Detection is the outcome of one Strategy.Detect call.
type Detection struct {
	// Strategy is the Name of the strategy that ran the detection.
	Strategy string
	// Available reports whether the strategy can be used.
	Available bool
	// Reason says why, in a few words a person can read in a log
	// ("istio agent ready at 127.0.0.1:15021", "GRPC_XDS_BOOTSTRAP not set").
	Reason string
	// At is when the detection finished.
	At time.Time
}

// Decision records which strategy a connection uses and why.
type Decision struct {
	// Strategy is the Name of the strategy in use, or "" before any was chosen.
	Strategy string
	// Kind classifies the decision: "detected", "fallback", "move_down",
	// "move_up" or "none" for Auto (see OnDecision); empty when the
	// connection has not decided yet or does not choose.
	Kind string
	// Reason says why it was chosen (or why the connection moved to it).
	Reason string
	// At is when the decision was made.
	At time.Time
	// Detections holds what each strategy in the chain reported, in order.
	Detections []Detection
}

// Reporter is implemented by connections that can say how they chose their
// strategy, such as the connections made by Auto.
type Reporter interface {
	// Decision returns the connection's current decision.
	Decision() Decision
}
