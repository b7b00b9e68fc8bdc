package omclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/telemetry"
)

// Conn is a balanced connection to one Open-Match service. It implements
// grpc.ClientConnInterface, so the generated clients of package pb work on it
// too; Frontend, Backend and Query add the SDK's retry rules.
//
// A Conn is safe for concurrent use. Close it when done.
type Conn struct {
	addr     string
	strategy balancer.Strategy
	cc       balancer.Conn
	logger   *slog.Logger
	retry    RetryPolicy
	grace    time.Duration
	hint     string // see dialAddr
	why      string // why strategy was chosen when it is not a Reporter
	tel      *telemetry.Client

	closed    atomic.Bool
	closeOnce sync.Once
	closeErr  error
}

// NewConn returns a connection to the Open-Match service at addr ("host:port").
// Like grpc.NewClient it does no blocking I/O: the strategy detects its
// environment and connects in the background, and calls wait for it within
// their own deadline.
func NewConn(addr string, opts ...Option) (*Conn, error) {
	if err := checkAddr(addr); err != nil {
		return nil, err
	}
	cfg, err := newConfig(opts)
	if err != nil {
		return nil, err
	}
	s, why, kind := cfg.strategy, "set by WithStrategy", "configured"
	if s == nil {
		if s, why, err = defaultStrategy(cfg.logger); err != nil {
			return nil, err
		}
		kind = "forced"
	}
	tel, err := telemetry.NewClient(cfg.providers.Meter, addr)
	if err != nil {
		return nil, fmt.Errorf("omclient: meter provider: %w", err)
	}
	s, isAuto := observed(s, tel)
	cc, err := s.Dial(addr, dialOptions(cfg)...)
	if err != nil {
		return nil, fmt.Errorf("omclient: dial %s with %s strategy: %w", addr, s.Name(), err)
	}
	c := &Conn{addr: addr, strategy: s, cc: cc, logger: cfg.logger, retry: cfg.retry, grace: cfg.watchGrace, hint: cfg.hint, why: why, tel: tel}
	if !isAuto {
		tel.Decision(s.Name(), kind)
	}
	if err := tel.RegisterInUse(func() string { return c.Decision().Strategy }); err != nil {
		_ = cc.Close()
		return nil, fmt.Errorf("omclient: meter provider: %w", err)
	}
	return c, nil
}

// dialOptions are meshmatch's defaults, then grpc-go's telemetry, then the
// user's own.
func dialOptions(cfg config) []grpc.DialOption {
	opts := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(cfg.keepalive),
	}
	opts = append(opts, cfg.providers.DialOptions()...)
	return append(opts, cfg.dialOpts...)
}

// Invoke performs a unary RPC. It implements grpc.ClientConnInterface.
func (c *Conn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	if c.closed.Load() {
		return closedError{}
	}
	if telemetry.IsRetry(ctx) {
		c.tel.Retry(ctx, method)
	}
	if isOnce(ctx) {
		c.awaitReachable(ctx)
	}
	return withHint(c.hint, c.cc.Invoke(ctx, method, args, reply, opts...))
}

// NewStream begins a streaming RPC. It implements grpc.ClientConnInterface.
func (c *Conn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	if c.closed.Load() {
		return nil, closedError{}
	}
	if telemetry.IsRetry(ctx) {
		c.tel.Retry(ctx, method)
		c.tel.Restart(ctx, method)
	}
	cs, err := c.cc.NewStream(ctx, desc, method, opts...)
	if err != nil || c.hint == "" {
		return cs, withHint(c.hint, err)
	}
	return hintStream{ClientStream: cs, hint: c.hint}, nil
}

// Addr returns the service address the connection was made for.
func (c *Conn) Addr() string { return c.addr }

// State returns the connectivity state of the underlying connection.
func (c *Conn) State() connectivity.State { return c.cc.GetState() }

// Decision reports which strategy the connection uses, why and since when.
// Before the background detection has finished, Strategy is empty.
func (c *Conn) Decision() balancer.Decision {
	if r, ok := c.cc.(balancer.Reporter); ok {
		return r.Decision()
	}
	return balancer.Decision{Strategy: c.strategy.Name(), Reason: c.why}
}

// Close tears the connection down. Calls in flight fail with Canceled; later
// calls fail with ErrClosed. Close is idempotent.
func (c *Conn) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.closeErr = errors.Join(c.cc.Close(), c.tel.Close())
	})
	return c.closeErr
}
