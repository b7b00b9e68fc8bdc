package omclient

import (
	"fmt"
	"os"
	"strings"

	"github.com/meshmatch/meshmatch/internal/dnsresolver"
)

// Default addresses of the Open-Match services in the documented Helm install
// (release "open-match" in namespace "open-match"), and the environment
// variables that override them.
const (
	defaultFrontendAddr = "open-match-frontend.open-match.svc.cluster.local:50504"
	defaultBackendAddr  = "open-match-backend.open-match.svc.cluster.local:50505"
	defaultQueryAddr    = "open-match-query.open-match.svc.cluster.local:50503"

	envFrontendAddr = "MESHMATCH_FRONTEND_ADDR"
	envBackendAddr  = "MESHMATCH_BACKEND_ADDR"
	envQueryAddr    = "MESHMATCH_QUERY_ADDR"
)

// FrontendAddr returns addr if it is not empty, else $MESHMATCH_FRONTEND_ADDR,
// else the Helm install's "open-match-frontend.open-match.svc.cluster.local:50504".
func FrontendAddr(addr string) string { return pickAddr(addr, envFrontendAddr, defaultFrontendAddr) }

// BackendAddr returns addr if it is not empty, else $MESHMATCH_BACKEND_ADDR,
// else the Helm install's "open-match-backend.open-match.svc.cluster.local:50505".
func BackendAddr(addr string) string { return pickAddr(addr, envBackendAddr, defaultBackendAddr) }

// QueryAddr returns addr if it is not empty, else $MESHMATCH_QUERY_ADDR,
// else the Helm install's "open-match-query.open-match.svc.cluster.local:50503".
func QueryAddr(addr string) string { return pickAddr(addr, envQueryAddr, defaultQueryAddr) }

func pickAddr(addr, env, def string) string {
	if addr != "" {
		return addr
	}
	if v := os.Getenv(env); v != "" {
		return v
	}
	return def
}

// dialAddr is pickAddr for Dial*, with the hint its Conn adds to connection
// errors when it fell back to the in-cluster default outside a cluster.
func dialAddr(addr, env, def string) (string, Option) {
	picked := pickAddr(addr, env, def)
	if addr != "" || picked != def || os.Getenv("KUBERNETES_SERVICE_HOST") != "" {
		return picked, optionFunc(func(*config) {})
	}
	hint := fmt.Sprintf("dialled the in-cluster default %s because the address was empty and $%s is unset; outside a cluster, pass an address or set %s", def, env, env)
	return picked, optionFunc(func(c *config) { c.hint = hint })
}

// checkAddr reports whether addr is a usable "host:port" service address: an
// IP literal or DNS name, and a port in [1, 65535].
func checkAddr(addr string) error {
	if scheme, _, ok := strings.Cut(addr, "://"); ok {
		return fmt.Errorf("omclient: address %q: want host:port without a %s:// scheme, e.g. %s", addr, scheme, defaultFrontendAddr)
	}
	if _, _, err := dnsresolver.SplitHostPort(addr); err != nil {
		return fmt.Errorf("omclient: %w", err)
	}
	return nil
}
