//go:build meshmatch_noxds

package omclient

import (
	"log/slog"

	"github.com/meshmatch/meshmatch/balancer"
)

// defaultChain is the zero balancer.Auto's chain (Sidecar, Headless) with
// proxyless xDS after the sidecar, which the meshmatch_noxds tag leaves out; TestDefaultChainMatchesZeroAuto keeps
// the two in step.
func defaultChain(logger *slog.Logger) []balancer.Strategy {
	return []balancer.Strategy{
		&balancer.Sidecar{Logger: logger},
		&balancer.Headless{Logger: logger},
	}
}
