package omclient_test

import (
	"net"
	"strconv"
	"testing"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// benchStrategy builds a strategy whose discovery returns the backends, with
// every interval at its default (what a user gets), and the logical address
// to dial with it.
type benchStrategy struct {
	name  string
	build func(b *testing.B, bs []*balancertest.Backend) (balancer.Strategy, string)
}

// benchStrategies are the strategies the failover benchmark runs under.
var benchStrategies = []benchStrategy{
	{name: "static", build: staticBench},
	{name: "headless", build: headlessBench},
	{name: "sidecar", build: sidecarBench},
	{name: "xds", build: xdsBench},
}

// benchAddr is the logical address of the benchmarks' service: faultHost on
// the backends' shared port.
func benchAddr(bs []*balancertest.Backend) string {
	_, port, _ := net.SplitHostPort(bs[0].Addr)
	return net.JoinHostPort(faultHost, port)
}

func staticBench(_ *testing.B, bs []*balancertest.Backend) (balancer.Strategy, string) {
	addrs := make([]string, len(bs))
	for i, bk := range bs {
		addrs[i] = bk.Addr
	}
	return balancer.Static{Addrs: addrs}, benchAddr(bs)
}

// benchDNS serves the backends' IPs under faultHost on a loopback DNS server.
func benchDNS(b *testing.B, bs []*balancertest.Backend) *dnstest.Server {
	dns := dnstest.NewServer(b)
	ips := make([]string, len(bs))
	for i, bk := range bs {
		ips[i] = ipOf(bk)
	}
	dns.Set(faultHost, ips...)
	return dns
}

func headlessBench(b *testing.B, bs []*balancertest.Backend) (balancer.Strategy, string) {
	return balancer.Headless{DNS: balancer.DNS{Server: benchDNS(b, bs).Addr()}}, benchAddr(bs)
}

func sidecarBench(b *testing.B, bs []*balancertest.Backend) (balancer.Strategy, string) {
	agent := istiotest.NewAgent(b)
	return balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: agent.Addr(), DNS: balancer.DNS{Server: benchDNS(b, bs).Addr()}}, benchAddr(bs)
}

func xdsBench(b *testing.B, bs []*balancertest.Backend) (balancer.Strategy, string) {
	istiod := xdstest.NewServer(b)
	_, port, _ := net.SplitHostPort(bs[0].Addr)
	p, _ := strconv.Atoi(port)
	addrs := make([]string, len(bs))
	for i, bk := range bs {
		addrs[i] = bk.Addr
	}
	if err := istiod.SetEndpoints(faultHost, p, addrs...); err != nil {
		b.Fatalf("SetEndpoints() = %v", err)
	}
	return xds.Strategy{Bootstrap: istiod.Bootstrap(xdstest.DefaultNodeID), Env: func(string) string { return "" }}, benchAddr(bs)
}
