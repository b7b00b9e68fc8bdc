package endpointslice

import (
	"context"
	"fmt"
)

// Probe lists t's EndpointSlices once within ctx and says what it found. It
// fails when the API server cannot be reached or refuses the list, and when
// the Service has no EndpointSlices or none of them has t's port.
func Probe(ctx context.Context, c Config, t Target) (string, error) {
	cl, err := c.connect(&t)
	if err != nil {
		return "", err
	}
	defer cl.close()
	l, err := cl.list(ctx, t)
	if err != nil {
		return "", err
	}
	s := Slices{}
	for i := range l.Items {
		s[l.Items[i].Name] = &l.Items[i]
	}
	if !s.HasPort(t) {
		return "", s.Empty(t)
	}
	return fmt.Sprintf("watching the EndpointSlices of service %s: %d ready endpoints on port %s", t, len(s.Addrs(t)), t.PortString()), nil
}
