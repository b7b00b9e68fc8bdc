package endpointslice

import (
	"fmt"
	"net"
	"strconv"
	"strings"
)

// Target is the Service a connection watches.
type Target struct {
	// Name and Namespace name the Service; Namespace is "" when the address
	// did not say it (the pod's namespace is meant).
	Name, Namespace string
	// Port is the port number matched against the EndpointSlices' ports,
	// or 0 when the address names the port.
	Port int32
	// PortName is the port's name when the address names it: each
	// EndpointSlice's port of that name gives the number its endpoints
	// listen on.
	PortName string
}

// ParseTarget parses "name:port", "name.namespace:port",
// "name.namespace.svc:port" or "name.namespace.svc.<cluster domain>:port".
// The port is a number, matched against the EndpointSlices' port numbers
// (the ports the pods listen on, which are the Service's ports for the
// headless Services Open-Match uses), or the name of one of the Service's
// ports (such as grpc), which each EndpointSlice maps to a number.
func ParseTarget(addr string) (Target, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Target{}, fmt.Errorf("endpointslice: invalid address %q: %w", addr, err)
	}
	t := Target{}
	n, err := strconv.Atoi(port)
	switch {
	case err == nil && n >= 1 && n <= 65535 && strconv.Itoa(n) == port:
		t.Port = int32(n)
	case isPortName(port):
		t.PortName = port
	default:
		return Target{}, fmt.Errorf("endpointslice: invalid address %q: port %q is neither a number in [1, 65535] nor a port name (at most 15 lower-case letters, digits and '-', with a letter)", addr, port)
	}
	labels := strings.Split(strings.TrimSuffix(host, "."), ".")
	if len(labels) > 2 && labels[2] != "svc" {
		return Target{}, fmt.Errorf("endpointslice: invalid address %q: want name, name.namespace or name.namespace.svc[.cluster domain]", addr)
	}
	for i, l := range labels {
		if i < 2 && !isLabel(l) {
			return Target{}, fmt.Errorf("endpointslice: invalid address %q: %q is not a valid Kubernetes name (lower-case letters, digits and '-', at most 63)", addr, l)
		}
	}
	t.Name = labels[0]
	if len(labels) > 1 {
		t.Namespace = labels[1]
	}
	return t, nil
}

// isLabel reports whether s is an RFC 1123 label, as Service and Namespace
// names are.
func isLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// isPortName reports whether s is a valid port name (an IANA service
// name, as Kubernetes validates Service port names): at most 15 lower-case
// letters, digits and '-', at least one letter, no '-' at either end or
// twice in a row.
func isPortName(s string) bool {
	if len(s) > 15 || !isLabel(s) || strings.Contains(s, "--") {
		return false
	}
	return strings.ContainsFunc(s, func(c rune) bool { return c >= 'a' && c <= 'z' })
}

// PortString returns the port as the address gave it: its number, or its
// name quoted.
func (t Target) PortString() string {
	if t.PortName != "" {
		return strconv.Quote(t.PortName)
	}
	return strconv.Itoa(int(t.Port))
}

// String returns "namespace/name".
func (t Target) String() string { return t.Namespace + "/" + t.Name }
