package balancer

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/resolver"

	"github.com/meshmatch/meshmatch/internal/dnsresolver"
)

// Headless balances calls client-side, round robin over every address the
// service's DNS name returns, and looks the name up again every
// RefreshInterval so that pods added by an autoscaler get traffic. Use it for
// a Kubernetes headless Service (Open-Match's Helm chart makes its services
// headless) when there is no service mesh. It is the last resort of Auto:
// Detect always reports it available.
//
// When a lookup fails or returns no addresses, the connection keeps the last
// addresses it had; it only fails calls while it has never had any. gRPC's
// requests to resolve again (after a connection breaks) are honoured at most
// once a second. No TXT (service config) lookups are made. IP literal hosts
// need no DNS.
//
// The zero value is ready to use.
type Headless struct {
	// DNS configures the lookups of the service name.
	DNS
	// Logger receives address changes (debug) and failed lookups (warn). nil
	// discards.
	Logger *slog.Logger
}

// Name returns "headless".
func (Headless) Name() string { return "headless" }

// Detect reports Headless available for every valid addr: it is the last
// resort. It does no I/O.
func (h Headless) Detect(_ context.Context, addr string) Detection {
	d := Detection{Strategy: h.Name(), At: time.Now()}
	host, _, err := dnsresolver.SplitHostPort(addr)
	if err != nil {
		d.Reason = err.Error()
		return d
	}
	d.Available = true
	d.Reason = fmt.Sprintf("always available (last resort): round robin over the DNS records of %s", host)
	return d
}

// Dial returns a round_robin connection over the addresses of addr's host,
// re-resolved every RefreshInterval. Without transport credentials in opts
// the connection is plaintext.
func (h Headless) Dial(addr string, opts ...grpc.DialOption) (Conn, error) {
	b, err := h.builder(headlessScheme, addr)
	if err != nil {
		return nil, fmt.Errorf("balancer: headless: %w", err)
	}
	cc, err := dialRoundRobin(b, addr, insecureDefault(), opts, nil)
	if err != nil {
		return nil, fmt.Errorf("balancer: headless: %w", err)
	}
	return cc, nil
}

// builder returns the periodic DNS resolver for addr under scheme.
func (h Headless) builder(scheme, addr string) (resolver.Builder, error) {
	host, port, err := dnsresolver.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	lookup := dnsresolver.LookupFunc(h.Lookup)
	if lookup == nil && h.Server != "" {
		if err := dnsresolver.CheckServer(h.Server); err != nil {
			return nil, fmt.Errorf("DNS server %q: %w", h.Server, err)
		}
	}
	if lookup == nil {
		lookup = dnsresolver.NewLookup(h.Server)
	}
	refresh := h.RefreshInterval
	if refresh <= 0 {
		refresh = DefaultRefreshInterval
	}
	return dnsresolver.NewBuilder(dnsresolver.Config{
		Scheme:  scheme,
		Host:    host,
		Port:    port,
		Lookup:  lookup,
		Refresh: refresh,
		Logger:  logger(h.Logger),
	}), nil
}
