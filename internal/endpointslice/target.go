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
	// Port is the port number matched against the EndpointSlices' ports.
	Port int32
}

// ParseTarget parses "name:port", "name.namespace:port",
// "name.namespace.svc:port" or "name.namespace.svc.<cluster domain>:port".
// The port must be a number: it is matched by number against the
// EndpointSlices' ports (the ports the pods listen on, which are the
// Service's ports for the headless Services Open-Match uses).
func ParseTarget(addr string) (Target, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return Target{}, fmt.Errorf("endpointslice: invalid address %q: %w", addr, err)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 || strconv.Itoa(n) != port {
		return Target{}, fmt.Errorf("endpointslice: invalid address %q: port %q is not a number in [1, 65535]", addr, port)
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
	t := Target{Name: labels[0], Port: int32(n)}
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

// String returns "namespace/name".
func (t Target) String() string { return t.Namespace + "/" + t.Name }
