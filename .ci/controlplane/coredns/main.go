// Command coredns is CoreDNS with only the plugins meshmatch's Kubernetes
// tests need: errors, log, health, ready, cache and kubernetes (the cluster
// DNS that serves headless Services from EndpointSlices).
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

// The order CoreDNS's own plugin.cfg gives these plugins.
var directives = []string{"errors", "log", "health", "ready", "cache", "kubernetes"}

func main() {
	dnsserver.Directives = directives
	coremain.Run()
}
