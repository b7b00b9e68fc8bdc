package dnsresolver

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/resolver"
)

// DefaultRefresh is the interval between lookups when Config.Refresh is
// zero or less.
const DefaultRefresh = 5 * time.Second

// Config configures a periodic DNS resolver for one "host:port".
type Config struct {
	// Scheme is the URL scheme of the targets the builder serves.
	Scheme string
	// Host and Port are what to resolve and which port to connect to.
	Host, Port string
	// Lookup resolves Host. nil means NewLookup("").
	Lookup LookupFunc
	// Refresh is the interval between lookups; zero or less means
	// DefaultRefresh.
	Refresh time.Duration
	// MinInterval is the least time between two lookups when gRPC asks to
	// resolve again (ResolveNow); 0 means min(Refresh, 1s).
	MinInterval time.Duration
	// LookupTimeout bounds one lookup; 0 means 5s.
	LookupTimeout time.Duration
	// Logger receives a debug record per address change and a warning per
	// failed lookup that keeps the previous addresses. nil discards.
	Logger *slog.Logger
}

// NewBuilder returns a resolver.Builder for c, with c's zero fields set to
// their defaults. Pass it to grpc.WithResolvers and dial
// Target(c.Scheme, host:port).
func NewBuilder(c Config) resolver.Builder {
	if c.Lookup == nil {
		c.Lookup = NewLookup("")
	}
	c.Lookup = literal(c.Lookup)
	if c.Refresh <= 0 {
		c.Refresh = DefaultRefresh
	}
	if c.MinInterval <= 0 {
		c.MinInterval = min(c.Refresh, time.Second)
	}
	if c.LookupTimeout <= 0 {
		c.LookupTimeout = 5 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return &builder{c: c}
}

// Target returns the dial target for addr under scheme.
func Target(scheme, addr string) string { return scheme + ":///" + addr }

type builder struct{ c Config }

func (b *builder) Scheme() string { return b.c.Scheme }

func (b *builder) Build(_ resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &dnsResolver{c: b.c, cc: cc, ctx: ctx, cancel: cancel, now: make(chan struct{}, 1)}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

type dnsResolver struct {
	c      Config
	cc     resolver.ClientConn
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	now    chan struct{}
	have   []string // addresses last pushed, sorted; nil before the first push
}

// ResolveNow asks for a lookup; lookups stay at least MinInterval apart.
func (r *dnsResolver) ResolveNow(resolver.ResolveNowOptions) {
	select {
	case r.now <- struct{}{}:
	default:
	}
}

// Close stops the lookup goroutine and waits for it.
func (r *dnsResolver) Close() {
	r.cancel()
	r.wg.Wait()
}

func (r *dnsResolver) run() {
	defer r.wg.Done()
	timer := time.NewTimer(r.c.Refresh)
	defer timer.Stop()
	for {
		r.resolve()
		last := time.Now()
		timer.Reset(r.c.Refresh)
		select {
		case <-r.ctx.Done():
			return
		case <-timer.C:
			continue
		case <-r.now:
		}
		if wait := r.c.MinInterval - time.Since(last); wait > 0 {
			timer.Reset(wait)
			select {
			case <-r.ctx.Done():
				return
			case <-timer.C:
			}
		}
	}
}

// resolve looks the host up once and pushes the addresses if they changed.
func (r *dnsResolver) resolve() {
	ctx, cancel := context.WithTimeout(r.ctx, r.c.LookupTimeout)
	ips, err := r.c.Lookup(ctx, r.c.Host)
	cancel()
	if r.ctx.Err() != nil {
		return
	}
	if err == nil && len(ips) == 0 {
		err = fmt.Errorf("no addresses")
	}
	if err != nil {
		r.failed(err)
		return
	}
	addrs := r.addrs(ips)
	if slices.Equal(addrs, r.have) {
		return
	}
	r.c.Logger.Debug("dnsresolver: addresses changed", "host", r.c.Host, "addresses", addrs, "previous", r.have)
	r.have = addrs
	if err := r.cc.UpdateState(state(addrs)); err != nil {
		// The balancer rejected the update; push again after the next lookup.
		r.have = nil
	}
}

func (r *dnsResolver) failed(err error) {
	err = fmt.Errorf("dnsresolver: lookup %s: %w", r.c.Host, err)
	if r.have == nil {
		r.cc.ReportError(err)
		return
	}
	r.c.Logger.Warn("dnsresolver: lookup failed, keeping previous addresses", "host", r.c.Host, "addresses", r.have, "error", err)
}

// addrs returns "ip:port" for each distinct ip, sorted.
func (r *dnsResolver) addrs(ips []netip.Addr) []string {
	out := make([]string, 0, len(ips))
	for _, ip := range ips {
		out = append(out, net.JoinHostPort(ip.String(), r.c.Port))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// state turns addresses into a resolver state with one endpoint each.
func state(addrs []string) resolver.State {
	s := resolver.State{
		Addresses: make([]resolver.Address, len(addrs)),
		Endpoints: make([]resolver.Endpoint, len(addrs)),
	}
	for i, a := range addrs {
		s.Addresses[i] = resolver.Address{Addr: a}
		s.Endpoints[i] = resolver.Endpoint{Addresses: []resolver.Address{{Addr: a}}}
	}
	return s
}
