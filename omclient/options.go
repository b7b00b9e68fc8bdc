package omclient

import (
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/telemetry"
)

// Option configures a Conn.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

type config struct {
	strategy   balancer.Strategy
	dialOpts   []grpc.DialOption
	logger     *slog.Logger
	retry      RetryPolicy
	keepalive  keepalive.ClientParameters
	watchGrace time.Duration
	hint       string // added to connection errors, see dialAddr
	providers  telemetry.Providers
}

// DefaultKeepalive returns the client keepalive meshmatch uses: Time 20 s,
// Timeout 10 s, PermitWithoutStream. Open-Match servers answer pings sent
// more often than every 10 s with a too_many_pings GOAWAY.
func DefaultKeepalive() keepalive.ClientParameters {
	return keepalive.ClientParameters{Time: 20 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}
}

// DefaultWatchGrace is how long after a watch starts a NotFound answer is taken
// as "the ticket is not visible yet" and retried rather than returned.
const DefaultWatchGrace = 2 * time.Second

func newConfig(opts []Option) (config, error) {
	c := config{keepalive: DefaultKeepalive(), watchGrace: DefaultWatchGrace}
	for i, o := range opts {
		if o == nil {
			return c, fmt.Errorf("omclient: option %d is nil", i)
		}
		o.apply(&c)
	}
	if c.logger == nil {
		c.logger = slog.New(slog.DiscardHandler)
	}
	c.retry = c.retry.withDefaults()
	return c, nil
}

// WithStrategy sets how the connection reaches the service. The default is a
// balancer.Auto over the zero Auto's chain with proxyless xDS added after the
// sidecar: sidecar, xds, headless (sidecar, headless when built with the
// meshmatch_noxds tag). $MESHMATCH_STRATEGY ("sidecar", "xds" or "headless")
// forces the one strategy it names instead.
func WithStrategy(s balancer.Strategy) Option {
	return optionFunc(func(c *config) { c.strategy = s })
}

// WithDialOptions adds gRPC dial options, applied after meshmatch's own
// defaults (keepalive, insecure transport credentials), so they take precedence.
func WithDialOptions(opts ...grpc.DialOption) Option {
	return optionFunc(func(c *config) { c.dialOpts = append(c.dialOpts, opts...) })
}

// WithLogger sets the logger for strategy decisions, retries and resumed
// watches. The default discards everything.
func WithLogger(l *slog.Logger) Option {
	return optionFunc(func(c *config) { c.logger = l })
}

// WithRetryPolicy sets the backoff used when the SDK retries a call.
func WithRetryPolicy(p RetryPolicy) Option {
	return optionFunc(func(c *config) { c.retry = p })
}

// WithKeepalive overrides DefaultKeepalive(). Time below 10 s makes Open-Match
// servers close the connection.
func WithKeepalive(p keepalive.ClientParameters) Option {
	return optionFunc(func(c *config) { c.keepalive = p })
}

// WithWatchGrace sets how long after a watch starts NotFound is retried
// (default DefaultWatchGrace). Zero turns the grace off.
func WithWatchGrace(d time.Duration) Option {
	return optionFunc(func(c *config) { c.watchGrace = d })
}
