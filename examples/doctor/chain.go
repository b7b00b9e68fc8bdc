package main

import "github.com/meshmatch/meshmatch/balancer"

// strategies returns the chain doctor checks, highest priority first, the
// way omclient builds it. Add a strategy here to have it checked too.
func strategies(c config) []balancer.Strategy {
	return []balancer.Strategy{
		balancer.Sidecar{ProbeAddr: c.sidecarProbe, AdminAddr: c.sidecarAdmin, ReadyTimeout: c.timeout, DNSServer: c.dnsServer},
		balancer.Headless{DNSServer: c.dnsServer},
	}
}
