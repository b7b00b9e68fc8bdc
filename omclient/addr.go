package omclient

import (
	"fmt"
	"os"

	"github.com/meshmatch/meshmatch/internal/dnsresolver"
)

// Default addresses of the Open-Match services in the documented Helm install
// (release "open-match" in namespace "open-match").
const (
	DefaultFrontendAddr = "open-match-frontend.open-match.svc.cluster.local:50504"
	DefaultBackendAddr  = "open-match-backend.open-match.svc.cluster.local:50505"
	DefaultQueryAddr    = "open-match-query.open-match.svc.cluster.local:50503"
)

// Environment variables that override the default addresses.
const (
	EnvFrontendAddr = "MESHMATCH_FRONTEND_ADDR"
	EnvBackendAddr  = "MESHMATCH_BACKEND_ADDR"
	EnvQueryAddr    = "MESHMATCH_QUERY_ADDR"
)

// FrontendAddr returns addr if it is not empty, else $MESHMATCH_FRONTEND_ADDR,
// else DefaultFrontendAddr.
func FrontendAddr(addr string) string { return pickAddr(addr, EnvFrontendAddr, DefaultFrontendAddr) }

// BackendAddr returns addr if it is not empty, else $MESHMATCH_BACKEND_ADDR,
// else DefaultBackendAddr.
func BackendAddr(addr string) string { return pickAddr(addr, EnvBackendAddr, DefaultBackendAddr) }

// QueryAddr returns addr if it is not empty, else $MESHMATCH_QUERY_ADDR,
// else DefaultQueryAddr.
func QueryAddr(addr string) string { return pickAddr(addr, EnvQueryAddr, DefaultQueryAddr) }

func pickAddr(addr, env, def string) string {
	if addr != "" {
		return addr
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// checkAddr reports whether addr is a usable "host:port" service address: an
// IP literal or DNS name, and a port in [1, 65535].
func checkAddr(addr string) error {
	if _, _, err := dnsresolver.SplitHostPort(addr); err != nil {
		return fmt.Errorf("omclient: %w", err)
	}
	return nil
}
