package omclient

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/meshmatch/meshmatch/balancer"
)

// EnvStrategy names the environment variable that forces one strategy of the
// default chain ("sidecar", "xds" or "headless") instead of detecting.
const EnvStrategy = "MESHMATCH_STRATEGY"

// DefaultChain returns the strategies the default Auto tries, in order:
// sidecar, proxyless xDS (left out when built with the meshmatch_noxds tag),
// headless DNS.
func DefaultChain(logger *slog.Logger) []balancer.Strategy {
	return defaultChain(logger)
}

// defaultStrategy is the strategy of a Conn made without WithStrategy.
func defaultStrategy(logger *slog.Logger) (balancer.Strategy, error) {
	chain := defaultChain(logger)
	name := os.Getenv(EnvStrategy)
	if name == "" {
		return &balancer.Auto{Strategies: chain, Logger: logger}, nil
	}
	var names []string
	for _, s := range chain {
		if s.Name() == name {
			return s, nil
		}
		names = append(names, s.Name())
	}
	return nil, fmt.Errorf("omclient: %s=%q: unknown strategy, want one of %s", EnvStrategy, name, strings.Join(names, ", "))
}
