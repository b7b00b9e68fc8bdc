package endpointslice

import (
	"fmt"
	"net"
	"slices"
	"strconv"

	"google.golang.org/grpc/resolver"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Slices is the last known EndpointSlices of a Service, by name.
type Slices map[string]*discoveryv1.EndpointSlice

// Addrs returns the sorted, distinct "ip:port" of the ready, not
// terminating IP endpoints of every slice that has port.
func (s Slices) Addrs(port int32) []string {
	out := []string{}
	for _, sl := range s {
		if sl.AddressType != discoveryv1.AddressTypeIPv4 && sl.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		p, ok := slicePort(sl, port)
		if !ok {
			continue
		}
		for _, ep := range sl.Endpoints {
			if !usable(ep.Conditions) {
				continue
			}
			for _, a := range ep.Addresses {
				out = append(out, net.JoinHostPort(a, strconv.Itoa(int(p))))
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// slicePort reports whether the slice serves port. A slice with a port of
// unset number serves every port.
func slicePort(sl *discoveryv1.EndpointSlice, port int32) (int32, bool) {
	for _, p := range sl.Ports {
		if p.Port == nil || *p.Port == port {
			return port, true
		}
	}
	return 0, false
}

// usable: ready (unset means ready, as the API documents) and not
// terminating.
func usable(c discoveryv1.EndpointConditions) bool {
	if c.Terminating != nil && *c.Terminating {
		return false
	}
	return c.Ready == nil || *c.Ready
}

// Empty explains why s has no address for t.
func (s Slices) Empty(t Target) error {
	if len(s) == 0 {
		return fmt.Errorf("endpointslice: service %s has no EndpointSlices (label %s=%s): no such Service, or it has no selector", t, discoveryv1.LabelServiceName, t.Name)
	}
	n := 0
	for _, sl := range s {
		n += len(sl.Endpoints)
	}
	return fmt.Errorf("endpointslice: service %s has no ready endpoints on port %d (%d endpoints in %d EndpointSlices)", t, t.Port, n, len(s))
}

// state turns addresses into a resolver state with one endpoint each.
func state(addrs []string) resolver.State {
	st := resolver.State{
		Addresses: make([]resolver.Address, len(addrs)),
		Endpoints: make([]resolver.Endpoint, len(addrs)),
	}
	for i, a := range addrs {
		st.Addresses[i] = resolver.Address{Addr: a}
		st.Endpoints[i] = resolver.Endpoint{Addresses: []resolver.Address{{Addr: a}}}
	}
	return st
}
