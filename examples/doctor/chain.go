package main

import (
	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/xds"
)

// strategies returns the chain doctor checks, highest priority first, the
// way omclient builds it: sidecar, proxyless xDS, headless.
func strategies(c config) []balancer.Strategy {
	return []balancer.Strategy{
		balancer.Sidecar{ProbeAddr: c.sidecarProbe, AdminAddr: c.sidecarAdmin, ReadyTimeout: c.timeout, DNS: balancer.DNS{Server: c.dnsServer}},
		xds.Strategy{IstiodAddr: c.istiod, ProbeTimeout: c.timeout},
		balancer.Headless{DNS: balancer.DNS{Server: c.dnsServer}},
	}
}
