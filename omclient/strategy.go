package omclient

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/meshmatch/meshmatch/balancer"
)

// envStrategy names the environment variable that forces one strategy of the
// default chain ("sidecar", "xds", "headless", or the name of a strategy an
// imported package added, such as "endpointslice") instead of detecting.
const envStrategy = "MESHMATCH_STRATEGY"

// defaultStrategy is the strategy of a Conn made without WithStrategy, and
// why it was chosen when it is forced by $MESHMATCH_STRATEGY.
func defaultStrategy(logger *slog.Logger) (balancer.Strategy, string, error) {
	chain := defaultChain(logger)
	name := os.Getenv(envStrategy)
	if name == "" {
		return &balancer.Auto{Strategies: chain, Logger: logger}, "", nil
	}
	var names []string
	for _, s := range chain {
		if s.Name() == name {
			return s, fmt.Sprintf("forced by %s=%s", envStrategy, name), nil
		}
		names = append(names, s.Name())
	}
	return nil, "", fmt.Errorf("omclient: %s=%q: unknown strategy, want one of %s", envStrategy, name, strings.Join(names, ", "))
}
