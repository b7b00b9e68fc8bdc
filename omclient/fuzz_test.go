package omclient_test

import (
	"net"
	"strconv"
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
)

// FuzzNewConnAddr checks that NewConn never panics on an address and that
// any address it accepts is a usable host:port. The static strategy keeps
// it free of network I/O: NewConn does none, and nothing calls.
func FuzzNewConnAddr(f *testing.F) {
	for _, seed := range []string{
		"open-match-frontend.open-match.svc.cluster.local:50504", "127.0.0.1:50504", "[::1]:50504", "localhost:1",
		"", ":", ":80", "host", "host:", "host:0", "host:65536", "host:+80", "host:-0", "host:http",
		"[::1]", "[::1]:", "a:b:c", "xds:///host:80", "dns:///h:1", "a/b:80", "bad host:80", "h\x00:80",
	} {
		f.Add(seed)
	}
	static := balancer.Static{Addrs: []string{"127.0.0.1:1"}}
	f.Fuzz(func(t *testing.T, addr string) {
		c, err := omclient.NewConn(addr, omclient.WithStrategy(static))
		if err != nil {
			if c != nil {
				t.Fatalf("NewConn(%q) = %v, %v; want a nil Conn with the error", addr, c, err)
			}
			if !strings.HasPrefix(err.Error(), "omclient: ") {
				t.Fatalf("NewConn(%q) error %q lacks the \"omclient: \" prefix", addr, err)
			}
			return
		}
		if got := c.Addr(); got != addr {
			t.Errorf("NewConn(%q).Addr() = %q", addr, got)
		}
		if err := c.Close(); err != nil {
			t.Errorf("NewConn(%q).Close() = %v", addr, err)
		}
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			t.Fatalf("NewConn accepted %q, which net.SplitHostPort rejects: %v", addr, err)
		}
		if host == "" {
			t.Fatalf("NewConn accepted %q with an empty host", addr)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || strings.Trim(port, "0123456789") != "" {
			t.Fatalf("NewConn accepted %q whose port %q is not a number in [1, 65535]", addr, port)
		}
	})
}
