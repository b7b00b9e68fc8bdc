package telemetry

import (
	"context"
	"errors"
	"strings"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Client holds the instruments of one client connection. Its methods are
// safe for concurrent use; with no meter provider they do nothing.
type Client struct {
	meter     metric.Meter
	addr      attribute.KeyValue
	decisions metric.Int64Counter
	fallbacks metric.Int64Counter
	moveUps   metric.Int64Counter
	retries   metric.Int64Counter
	restarts  metric.Int64Counter
	resumes   metric.Int64Counter
	reg       metric.Registration
}

// NewClient creates the instruments of the connection to addr on mp (nil:
// no-ops).
func NewClient(mp metric.MeterProvider, addr string) (*Client, error) {
	if mp == nil {
		mp = noop.NewMeterProvider()
	}
	m := mp.Meter(ScopeName)
	c := &Client{meter: m, addr: attribute.String(AttrAddress, addr)}
	var errs [6]error
	c.decisions, errs[0] = m.Int64Counter(Decisions, metric.WithUnit("{decision}"), metric.WithDescription("Strategy decisions of meshmatch connections, by strategy chosen and kind of decision."))
	c.fallbacks, errs[1] = m.Int64Counter(Fallbacks, metric.WithUnit("{fallback}"), metric.WithDescription("Moves to a lower strategy of the chain (gate missed at start, or the one in use failed), by strategy moved to."))
	c.moveUps, errs[2] = m.Int64Counter(MoveUps, metric.WithUnit("{move_up}"), metric.WithDescription("Moves back up to a higher strategy that recovered, by strategy moved to."))
	c.retries, errs[3] = m.Int64Counter(Retries, metric.WithUnit("{retry}"), metric.WithDescription("Attempts of an RPC made by meshmatch's retry policy after the first one."))
	c.restarts, errs[4] = m.Int64Counter(QueryRestarts, metric.WithUnit("{restart}"), metric.WithDescription("Query streams started over from scratch after breaking with a retryable error."))
	c.resumes, errs[5] = m.Int64Counter(WatchResumes, metric.WithUnit("{resume}"), metric.WithDescription("WatchAssignments streams reopened after breaking."))
	return c, errors.Join(errs[:]...)
}

// RegisterInUse registers the in-use gauge, which reports 1 for the
// strategy current returns (nothing while it returns ""). Call it once;
// Close unregisters it.
func (c *Client) RegisterInUse(current func() string) error {
	reg, err := registerInUse(c.meter, c.addr, current)
	c.reg = reg
	return err
}

// registerInUse registers the observable gauge of the strategy in use.
func registerInUse(m metric.Meter, addr attribute.KeyValue, current func() string) (metric.Registration, error) {
	g, err := m.Int64ObservableGauge(InUse, metric.WithUnit("{connection}"), metric.WithDescription("1 for the strategy a meshmatch connection uses now."))
	if err != nil {
		return nil, err
	}
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		if s := current(); s != "" {
			o.ObserveInt64(g, 1, metric.WithAttributes(addr, attribute.String(AttrStrategy, s)))
		}
		return nil
	}, g)
}

// Decision records a decision: the strategy chosen ("" for none) and its
// kind, as balancer.Decision.Kind or "forced"/"configured".
func (c *Client) Decision(strategy, kind string) {
	ctx := context.Background()
	s := attribute.String(AttrStrategy, strategy)
	c.decisions.Add(ctx, 1, metric.WithAttributes(c.addr, s, attribute.String(AttrKind, kind)))
	switch kind {
	case "fallback", "move_down":
		c.fallbacks.Add(ctx, 1, metric.WithAttributes(c.addr, s))
	case "move_up":
		c.moveUps.Add(ctx, 1, metric.WithAttributes(c.addr, s))
	}
}

// Retry records a retried call of method ("/package.Service/Method").
func (c *Client) Retry(ctx context.Context, method string) {
	c.retries.Add(ctx, 1, metric.WithAttributes(c.rpc(method)...))
}

// Restart records a query stream of method started over.
func (c *Client) Restart(ctx context.Context, method string) {
	c.restarts.Add(ctx, 1, metric.WithAttributes(c.rpc(method)...))
}

// Resume records a reopened assignment watch.
func (c *Client) Resume(ctx context.Context) { c.resumes.Add(ctx, 1, metric.WithAttributes(c.addr)) }

// rpc returns the address and rpc.* attributes of method.
func (c *Client) rpc(method string) []attribute.KeyValue {
	svc, m, _ := strings.Cut(strings.TrimPrefix(method, "/"), "/")
	return []attribute.KeyValue{c.addr, attribute.String("rpc.system", "grpc"), attribute.String("rpc.service", svc), attribute.String("rpc.method", m)}
}

// Close unregisters the in-use gauge. It is idempotent.
func (c *Client) Close() error {
	if c.reg == nil {
		return nil
	}
	return c.reg.Unregister()
}
