//go:build istiod

package istiod_test

import (
	"time"

	"github.com/meshmatch/meshmatch/balancer"
)

// The DNS-based strategies of the tests' chains are built here only, so
// that a change of their configuration fields touches one file.

// headless returns the headless strategy asking the DNS server at dns every
// refresh (zero: the default interval).
func headless(dns string, refresh time.Duration) balancer.Strategy {
	return balancer.Headless{DNS: balancer.DNS{Server: dns, RefreshInterval: refresh}}
}

// sidecar returns the sidecar strategy probing the agent at probe and
// Envoy's admin at admin, resolving through the DNS server at dns.
func sidecar(probe, admin, dns string) balancer.Strategy {
	return balancer.Sidecar{ProbeAddr: probe, AdminAddr: admin, DNS: balancer.DNS{Server: dns}}
}
