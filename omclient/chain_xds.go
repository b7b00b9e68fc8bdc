//go:build !meshmatch_noxds

package omclient

import (
	"log/slog"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/chain"
	"github.com/meshmatch/meshmatch/xds"
)

// defaultChain is the zero balancer.Auto's chain (Sidecar, Headless) with
// proxyless xDS after the sidecar and the strategies of imported optional
// packages (such as balancer/endpointslice) before Headless;
// TestDefaultChainMatchesZeroAuto keeps the two in step.
func defaultChain(logger *slog.Logger) []balancer.Strategy {
	s := []balancer.Strategy{
		&balancer.Sidecar{Logger: logger},
		&xds.Strategy{Logger: logger},
	}
	s = append(s, chain.Added(logger)...)
	return append(s, &balancer.Headless{Logger: logger})
}
