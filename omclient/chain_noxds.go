//go:build meshmatch_noxds

package omclient

import (
	"log/slog"

	"github.com/meshmatch/meshmatch/balancer"
)

func defaultChain(logger *slog.Logger) []balancer.Strategy {
	return []balancer.Strategy{
		&balancer.Sidecar{Logger: logger},
		&balancer.Headless{Logger: logger},
	}
}
