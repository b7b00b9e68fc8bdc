package balancer

import (
	"log/slog"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/resolver"

	"github.com/meshmatch/meshmatch/internal/dnsresolver"
)

// roundRobin is the service config of every connection the DNS-based
// strategies make.
const roundRobin = `{"loadBalancingConfig":[{"round_robin":{}}]}`

// Schemes of the per-connection resolvers. They are never registered
// globally, so they only need to differ from each other.
const (
	headlessScheme = "meshmatch-headless"
	sidecarScheme  = "meshmatch-sidecar"
	staticScheme   = "meshmatch-static"
)

// logger returns l, or a logger that discards everything when l is nil.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

// dialRoundRobin makes a round_robin connection to addr through b. The
// round_robin service config and defaults come before the caller's opts (so
// the caller can override them, grpc.WithDefaultServiceConfig included) and
// forced and the strategy's own resolver after.
func dialRoundRobin(b resolver.Builder, addr string, defaults, opts, forced []grpc.DialOption) (*grpc.ClientConn, error) {
	all := make([]grpc.DialOption, 0, len(defaults)+len(opts)+len(forced)+2)
	all = append(all, grpc.WithDefaultServiceConfig(roundRobin))
	all = append(all, defaults...)
	all = append(all, opts...)
	all = append(all, forced...)
	all = append(all, grpc.WithResolvers(b))
	return grpc.NewClient(dnsresolver.Target(b.Scheme(), addr), all...)
}

// insecureDefault is the transport security used when the caller gives none.
func insecureDefault() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
}
