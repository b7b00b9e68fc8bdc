//go:build istiod

package istiod

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Registered reports whether istiod's service registry (/debug/registryz)
// holds host.
func (s *Server) Registered(ctx context.Context, host string) (bool, error) {
	body, err := s.dumpHTTP.get(ctx, "http://"+s.monAddr+"/debug/registryz")
	if err != nil {
		return false, fmt.Errorf("istiod: registry: %w", err)
	}
	var services []struct {
		Hostname string `json:"hostname"`
	}
	if err := json.Unmarshal(body, &services); err != nil {
		return false, fmt.Errorf("istiod: registry: %w", err)
	}
	for _, svc := range services {
		if svc.Hostname == host {
			return true, nil
		}
	}
	return false, nil
}

// WaitRegistered waits until istiod's registry holds host, or ctx ends.
func (s *Server) WaitRegistered(ctx context.Context, host string) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, err := s.Registered(ctx, host)
		if ok {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("istiod: %s not registered: %w (last error: %v)", host, ctx.Err(), err)
		}
	}
}
