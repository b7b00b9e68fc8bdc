package main

import (
	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/xds"
)

// strategies returns the chain doctor checks, highest priority first, the
// way omclient builds it: sidecar, proxyless xDS, headless. The xds strategy
// gets IstiodAddr only when -istiod is set, so that, like the library, it
// asks for istiod's default name only inside a pod.
func strategies(c config) []balancer.Strategy {
	return []balancer.Strategy{
		balancer.Sidecar{ProbeAddr: c.sidecarProbe, AdminAddr: c.sidecarAdmin, ReadyTimeout: c.timeout, DNS: balancer.DNS{Server: c.dnsServer}},
		xds.Strategy{IstiodAddr: c.istiod, ProbeTimeout: c.timeout, Env: c.env},
		balancer.Headless{DNS: balancer.DNS{Server: c.dnsServer}},
	}
}
