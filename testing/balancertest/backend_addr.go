package balancertest

import "net/netip"

// AddrPort returns Addr parsed; a Backend always listens on an IP
// address, so it panics only if Addr was changed to something else.
func (b *Backend) AddrPort() netip.AddrPort { return netip.MustParseAddrPort(b.Addr) }

// IPs returns the IP address of each backend, in order, as an
// EndpointSlice or an A record lists them.
func IPs(bs []*Backend) []netip.Addr {
	out := make([]netip.Addr, len(bs))
	for i, b := range bs {
		out[i] = b.AddrPort().Addr()
	}
	return out
}
