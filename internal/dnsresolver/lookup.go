package dnsresolver

import (
	"context"
	"net"
	"net/netip"
)

// LookupFunc returns the IP addresses of host.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// NewLookup returns a LookupFunc that asks server ("ip:port") for A and AAAA
// records, or the system resolver when server is empty. It makes no TXT or
// SRV queries.
func NewLookup(server string) LookupFunc {
	r := net.DefaultResolver
	if server != "" {
		r = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, network, server)
			},
		}
	}
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		ips, err := r.LookupNetIP(ctx, "ip", host)
		for i := range ips {
			ips[i] = ips[i].Unmap()
		}
		return ips, err
	}
}

// literal wraps lookup so that IP literal hosts are answered without DNS.
func literal(lookup LookupFunc) LookupFunc {
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		if ip, err := netip.ParseAddr(host); err == nil {
			return []netip.Addr{ip}, nil
		}
		return lookup(ctx, host)
	}
}
