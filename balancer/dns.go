package balancer

import (
	"context"
	"net/netip"
	"time"
)

// DefaultRefreshInterval is how often Headless and Sidecar look the service
// name up again when DNS.RefreshInterval is zero.
const DefaultRefreshInterval = 5 * time.Second

// DNS configures how Headless and Sidecar look the service name up. The zero
// value asks the system resolver every DefaultRefreshInterval.
type DNS struct {
	// RefreshInterval is the time between two lookups. Zero means
	// DefaultRefreshInterval.
	RefreshInterval time.Duration
	// Lookup resolves a host name to IP addresses. nil means the system
	// resolver, or Server when that is set.
	Lookup func(ctx context.Context, host string) ([]netip.Addr, error)
	// Server is an optional "ip:port" of a DNS server to ask instead of the
	// system resolver (used when Lookup is nil), such as "10.96.0.10:53".
	// Dial rejects anything else, a bare IP included. Lookup errors name
	// this server.
	Server string
}
