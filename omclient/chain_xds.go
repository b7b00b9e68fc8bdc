//go:build !meshmatch_noxds

package omclient

import (
	"log/slog"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/xds"
)

// defaultChain is the zero balancer.Auto's chain (Sidecar, Headless) with
// proxyless xDS after the sidecar; TestDefaultChainMatchesZeroAuto keeps
// the two in step.
func defaultChain(logger *slog.Logger) []balancer.Strategy {
	return []balancer.Strategy{
		&balancer.Sidecar{Logger: logger},
		&xds.Strategy{Logger: logger},
		&balancer.Headless{Logger: logger},
	}
}
