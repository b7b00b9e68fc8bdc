//go:build meshmatch_noxds

package omclient

import (
	"log/slog"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/chain"
)

// defaultChain is the zero balancer.Auto's chain (Sidecar, Headless) with
// the strategies of imported optional packages (such as
// balancer/endpointslice) before Headless; the meshmatch_noxds tag leaves
// out proxyless xDS. TestDefaultChainMatchesZeroAuto keeps the two in step.
func defaultChain(logger *slog.Logger) []balancer.Strategy {
	s := []balancer.Strategy{&balancer.Sidecar{Logger: logger}}
	s = append(s, chain.Added(logger)...)
	return append(s, &balancer.Headless{Logger: logger})
}
