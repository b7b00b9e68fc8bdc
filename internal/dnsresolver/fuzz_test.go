package dnsresolver

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// FuzzSplitHostPort checks that whatever SplitHostPort accepts is a host
// and a port a dialer can use, and that it survives a round trip.
func FuzzSplitHostPort(f *testing.F) {
	for _, seed := range []string{
		"open-match-frontend.open-match.svc.cluster.local:50504",
		"127.0.0.1:50504", "[::1]:50504", "[fe80::1%eth0]:80", "svc.:1", "a_b:65535",
		"", ":80", "host", "host:", "host:0", "host:65536", "host:+80", "host:-1", "host:http",
		"[host]:80", "-a.b:80", "a..b:80", strings.Repeat("a", 64) + ":80", "héllo:80",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		host, port, err := SplitHostPort(addr)
		if err != nil {
			if host != "" || port != "" {
				t.Fatalf("SplitHostPort(%q) = %q, %q, %v; want empty host and port with an error", addr, host, port, err)
			}
			if !strings.HasPrefix(err.Error(), "invalid address ") {
				t.Fatalf("SplitHostPort(%q) error %q lacks the \"invalid address\" prefix", addr, err)
			}
			return
		}
		if port == "" || strings.Trim(port, "0123456789") != "" {
			t.Fatalf("SplitHostPort(%q) port = %q, want decimal digits", addr, port)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			t.Fatalf("SplitHostPort(%q) port = %q, want a number in [1, 65535]", addr, port)
		}
		if _, err := netip.ParseAddr(host); err != nil && !isName(host) {
			t.Fatalf("SplitHostPort(%q) host = %q: neither an IP nor a DNS name", addr, host)
		}
		again := net.JoinHostPort(host, port)
		h2, p2, err := SplitHostPort(again)
		if err != nil || h2 != host || p2 != port {
			t.Fatalf("SplitHostPort(JoinHostPort(%q, %q)) = %q, %q, %v; want the same host and port", host, port, h2, p2, err)
		}
	})
}

// isName is an independent statement of the DNS names SplitHostPort
// accepts: ASCII letters, digits, '-' and '_' in dot-separated labels of 1
// to 63 bytes not starting or ending with '-', at most 253 bytes before an
// optional final dot.
func isName(host string) bool {
	name := strings.TrimSuffix(host, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		if strings.Trim(label, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != "" {
			return false
		}
	}
	return true
}
