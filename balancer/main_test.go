package balancer_test

import (
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// serviceName is the DNS name the harnesses serve the backends under.
const serviceName = "backends.meshmatch.test"

// testRefresh is the re-resolution interval of the DNS strategies in tests.
const testRefresh = 20 * time.Millisecond

// dnsBackends serves bs under serviceName on a new dnstest server and
// returns the logical address and a SetBackends function.
func dnsBackends(t testing.TB, bs []*balancertest.Backend) (*dnstest.Server, string, func(testing.TB, []*balancertest.Backend)) {
	srv := dnstest.NewServer(t)
	set := func(_ testing.TB, live []*balancertest.Backend) {
		ips := make([]string, len(live))
		for i, b := range live {
			host, _, _ := net.SplitHostPort(b.Addr)
			ips[i] = host
		}
		srv.Set(serviceName, ips...)
	}
	set(t, bs)
	_, port, _ := net.SplitHostPort(bs[0].Addr)
	return srv, net.JoinHostPort(serviceName, port), set
}

func headlessHarness(refresh time.Duration) balancertest.Harness {
	return func(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
		srv, addr, set := dnsBackends(t, bs)
		return balancertest.Setup{
			Strategy:    balancer.Headless{DNS: balancer.DNS{Server: srv.Addr(), RefreshInterval: refresh}},
			Addr:        addr,
			SetBackends: set,
		}
	}
}

func sidecarHarness(refresh time.Duration) balancertest.Harness {
	return func(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
		srv, addr, set := dnsBackends(t, bs)
		agent := istiotest.NewAgent(t)
		return balancertest.Setup{
			Strategy: balancer.Sidecar{
				ProbeAddr: agent.Addr(),
				AdminAddr: agent.Addr(),
				DNS:       balancer.DNS{Server: srv.Addr(), RefreshInterval: refresh},
			},
			Addr:        addr,
			SetBackends: set,
		}
	}
}

func staticHarness(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
	addrs := make([]string, len(bs))
	for i, b := range bs {
		addrs[i] = b.Addr
	}
	return balancertest.Setup{
		Strategy:        balancer.Static{Addrs: addrs},
		Addr:            "static.meshmatch.test:50504",
		FixedMembership: true,
	}
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name    string
		harness balancertest.Harness
	}{
		{name: "headless", harness: headlessHarness(testRefresh)},
		{name: "sidecar", harness: sidecarHarness(testRefresh)},
		{name: "static", harness: staticHarness},
		{name: "auto", harness: autoHarness},
	} {
		t.Run(tc.name, func(t *testing.T) { balancertest.Run(t, tc.harness) })
	}
}
