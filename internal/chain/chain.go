// Package chain holds the strategies that optional packages add to
// omclient's default chain when they are imported, the way importing
// grpc-go's xds package adds its resolver. It imports only package balancer,
// so omclient links nothing of an optional strategy it is built without.
package chain

import (
	"log/slog"
	"sync"

	"github.com/meshmatch/meshmatch/balancer"
)

// New builds one strategy of the chain with the Conn's logger.
type New func(logger *slog.Logger) balancer.Strategy

var (
	mu    sync.Mutex
	added []New
)

// Add registers a strategy for omclient's default chain, between the xDS
// strategy and Headless, in the order of the calls. Call it only from an
// init function.
func Add(f New) {
	mu.Lock()
	defer mu.Unlock()
	added = append(added, f)
}

// Added returns the registered strategies, each built with logger.
func Added(logger *slog.Logger) []balancer.Strategy {
	mu.Lock()
	defer mu.Unlock()
	out := make([]balancer.Strategy, 0, len(added))
	for _, f := range added {
		out = append(out, f(logger))
	}
	return out
}
