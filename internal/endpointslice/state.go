package endpointslice

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/grpc/resolver"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Slices is the last known EndpointSlices of a Service, by name.
type Slices map[string]*discoveryv1.EndpointSlice

// Addrs returns the sorted, distinct "ip:port" of the ready, not
// terminating IP endpoints of every slice that has t's port. A named port
// takes its number from each slice, as pods of one Service may listen on
// different numbers under one name (during a rollout, say).
func (s Slices) Addrs(t Target) []string {
	out := []string{}
	for _, sl := range s {
		if sl.AddressType != discoveryv1.AddressTypeIPv4 && sl.AddressType != discoveryv1.AddressTypeIPv6 {
			continue
		}
		p, ok := slicePort(sl, t)
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

// slicePort returns the number the slice's endpoints listen on for t's
// port and whether the slice has it. By number, a port of unset number
// (which the API documents as every port) matches too; by name, only a
// port of that name with a number does.
func slicePort(sl *discoveryv1.EndpointSlice, t Target) (int32, bool) {
	for _, p := range sl.Ports {
		switch {
		case t.PortName != "":
			if p.Name != nil && *p.Name == t.PortName && p.Port != nil {
				return *p.Port, true
			}
		case p.Port == nil || *p.Port == t.Port:
			return t.Port, true
		}
	}
	return 0, false
}

// HasPort reports whether some slice has t's port.
func (s Slices) HasPort(t Target) bool {
	for _, sl := range s {
		if _, ok := slicePort(sl, t); ok {
			return true
		}
	}
	return false
}

// ports lists the slices' ports as sorted, distinct "name/number" (a
// missing name or number is left out, "*" for an unset number).
func (s Slices) ports() string {
	var out []string
	for _, sl := range s {
		for _, p := range sl.Ports {
			n := "*"
			if p.Port != nil {
				n = strconv.Itoa(int(*p.Port))
			}
			if p.Name != nil && *p.Name != "" {
				n = *p.Name + "/" + n
			}
			out = append(out, n)
		}
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) == 0 {
		return "no ports"
	}
	return strings.Join(out, ", ")
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
	if !s.HasPort(t) {
		named := ""
		if t.PortName != "" {
			named = "named "
		}
		return fmt.Errorf("endpointslice: service %s has no port %s%s (its EndpointSlices have %s)", t, named, t.PortString(), s.ports())
	}
	n := 0
	for _, sl := range s {
		n += len(sl.Endpoints)
	}
	return fmt.Errorf("endpointslice: service %s has no ready endpoints on port %s (%d endpoints in %d EndpointSlices)", t, t.PortString(), n, len(s))
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
