package dnsresolver

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// LookupFunc returns the IP addresses of host.
type LookupFunc func(ctx context.Context, host string) ([]netip.Addr, error)

// NewLookup returns a LookupFunc that asks server ("ip:port") for A and AAAA
// records, or the system resolver when server is empty. It makes no TXT or
// SRV queries. A host that already ends in a search domain of
// /etc/resolv.conf is asked as an absolute name, not through the search
// path.
func NewLookup(server string) LookupFunc {
	r := net.DefaultResolver
	if server != "" {
		r = &net.Resolver{
			PreferGo: true,
			Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
				var d net.Dialer
				c, err := d.DialContext(ctx, network, server)
				if err != nil {
					return nil, err
				}
				return closeOnDone(ctx, c), nil
			},
		}
	}
	absolute := absoluter(resolvConf)
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		ips, err := r.LookupNetIP(ctx, "ip", absolute(host))
		for i := range ips {
			ips[i] = ips[i].Unmap()
		}
		return ips, nameServer(err, server)
	}
}

// nameServer makes a lookup error name server, the one that was asked: Go's
// resolver names the first server of /etc/resolv.conf even when Dial sends
// the queries elsewhere.
func nameServer(err error, server string) error {
	var dnsErr *net.DNSError
	if server != "" && errors.As(err, &dnsErr) {
		dnsErr.Server = server
	}
	return err
}

// CheckServer validates a DNS server address: an IP literal and a port.
func CheckServer(server string) error {
	host, port, err := net.SplitHostPort(server)
	if err != nil {
		if _, perr := netip.ParseAddr(strings.Trim(server, "[]")); perr == nil && !strings.HasPrefix(server, "[") {
			return fmt.Errorf("missing port: want \"ip:port\", such as %q", net.JoinHostPort(server, "53"))
		}
		return err
	}
	if _, err := netip.ParseAddr(host); err != nil {
		return fmt.Errorf("host %q is not an IP address (a DNS server name would need another DNS server)", host)
	}
	return checkPort(port)
}

// closeOnDone closes c when ctx is done. Go's DNS client only sets a
// deadline on the connection and does not watch the context while it waits
// for an answer, so without this a lookup cancelled by Close would keep a
// goroutine waiting until the resolver's own timeout. The returned conn keeps
// the net.PacketConn interface of a UDP conn, which the DNS client checks to
// choose between datagram and stream framing.
func closeOnDone(ctx context.Context, c net.Conn) net.Conn {
	stop := context.AfterFunc(ctx, func() { c.Close() })
	if pc, ok := c.(net.PacketConn); ok {
		return &packetConn{Conn: c, PacketConn: pc, stop: stop}
	}
	return &streamConn{Conn: c, stop: stop}
}

type streamConn struct {
	net.Conn
	stop func() bool
}

func (c *streamConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

type packetConn struct {
	net.Conn
	net.PacketConn
	stop func() bool
}

func (c *packetConn) Close() error {
	c.stop()
	return c.Conn.Close()
}

// The embedded interfaces both have these methods; use the net.Conn ones.
func (c *packetConn) LocalAddr() net.Addr                { return c.Conn.LocalAddr() }
func (c *packetConn) SetDeadline(t time.Time) error      { return c.Conn.SetDeadline(t) }
func (c *packetConn) SetReadDeadline(t time.Time) error  { return c.Conn.SetReadDeadline(t) }
func (c *packetConn) SetWriteDeadline(t time.Time) error { return c.Conn.SetWriteDeadline(t) }

// literal wraps lookup so that IP literal hosts are answered without DNS.
func literal(lookup LookupFunc) LookupFunc {
	return func(ctx context.Context, host string) ([]netip.Addr, error) {
		if ip, err := netip.ParseAddr(host); err == nil {
			return []netip.Addr{ip}, nil
		}
		return lookup(ctx, host)
	}
}
