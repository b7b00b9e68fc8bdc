package dnsresolver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// SplitHostPort splits addr ("host:port") and checks that host is an IP
// literal or a valid DNS name and that port is a number in [1, 65535].
func SplitHostPort(addr string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(addr)
	if err != nil {
		return "", "", fmt.Errorf("invalid address %q: %w", addr, err)
	}
	if err := checkPort(port); err != nil {
		return "", "", fmt.Errorf("invalid address %q: %w", addr, err)
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return host, port, nil
	}
	if err := checkName(host); err != nil {
		return "", "", fmt.Errorf("invalid address %q: %w", addr, err)
	}
	return host, port, nil
}

// checkPort accepts a port written the one way a listener name is written:
// decimal digits, no sign and no leading zero, in [1, 65535]. ("0080" would
// dial port 80 but never match an xDS listener named "host:80".)
func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return fmt.Errorf("port %q is not a number in [1, 65535]", port)
	}
	return nil
}

// checkName accepts DNS names made of letters, digits, '-' and '_' in labels
// of at most 63 bytes, at most 253 bytes in all, with an optional final dot.
func checkName(host string) error {
	name := strings.TrimSuffix(host, ".")
	if name == "" {
		return errors.New("missing host")
	}
	if len(name) > 253 {
		return fmt.Errorf("host name %q is longer than 253 bytes", host)
	}
	for _, label := range strings.Split(name, ".") {
		if err := checkLabel(label); err != nil {
			return fmt.Errorf("host name %q: %w", host, err)
		}
	}
	return nil
}

func checkLabel(label string) error {
	if label == "" || len(label) > 63 {
		return fmt.Errorf("label %q must be 1 to 63 bytes", label)
	}
	if label[0] == '-' || label[len(label)-1] == '-' {
		return fmt.Errorf("label %q starts or ends with '-'", label)
	}
	for _, c := range label {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
		if !ok {
			return fmt.Errorf("label %q holds %q", label, c)
		}
	}
	return nil
}
