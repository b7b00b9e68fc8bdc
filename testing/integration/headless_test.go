//go:build integration

package integration

import (
	"net"
	"testing"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// serviceName is the headless Service name dnsmasq serves the backends under.
const serviceName = "backends." + localDomain

// dnsmasqHarness serves the backends under serviceName from a dnsmasq
// process; SetBackends rewrites its hosts file.
func dnsmasqHarness(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
	d := startDNSMasq(t, serviceName, ips(bs)...)
	return balancertest.Setup{
		Strategy:    balancer.Headless{DNS: balancer.DNS{Server: d.addr, RefreshInterval: testRefresh}},
		Addr:        net.JoinHostPort(serviceName, port(bs)),
		SetBackends: func(t testing.TB, live []*balancertest.Backend) { d.setHosts(t, serviceName, ips(live)...) },
	}
}

func TestHeadlessDNSMasqConformance(t *testing.T) {
	balancertest.Run(t, dnsmasqHarness)
}

func TestHeadlessDNSMasqScaleUp(t *testing.T) {
	ctx := testContext(t)
	all := balancertest.StartBackends(t, 4)
	d := startDNSMasq(t, serviceName, ips(all[:3])...)
	conn := balancertest.Dial(t, balancer.Headless{DNS: balancer.DNS{Server: d.addr, RefreshInterval: testRefresh}}, net.JoinHostPort(serviceName, port(all)))
	if err := calltest.WaitServed(ctx, conn, all[:3]); err != nil {
		t.Fatalf("before scaling up: %v", err)
	}
	if got := all[3].Calls(); got != 0 {
		t.Fatalf("%s served %d calls before it was in DNS, want 0", all[3].Name, got)
	}

	from := d.Lines()
	d.setHosts(t, serviceName, ips(all)...)
	if _, _, err := d.WaitLine(ctx, from, "query[A] "+serviceName); err != nil {
		t.Fatalf("no lookup after scaling up: %v", err)
	}
	if err := calltest.WaitServed(ctx, conn, all[3:]); err != nil {
		t.Fatalf("after adding %s to DNS: %v", all[3].Name, err)
	}
	assertShares(t, all, spread(t, ctx, conn, all, 200), 200)
}

func TestHeadlessDNSMasqAnswersNothing(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 3)
	d := startDNSMasq(t, serviceName, ips(bs)...)
	conn := balancertest.Dial(t, balancer.Headless{DNS: balancer.DNS{Server: d.addr, RefreshInterval: testRefresh}}, net.JoinHostPort(serviceName, port(bs)))
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("before emptying DNS: %v", err)
	}

	from := d.Lines()
	d.setHosts(t, serviceName) // no records: NXDOMAIN
	// Each refresh asks for A and AAAA: four NXDOMAIN answers are at least
	// two refreshes that found nothing.
	if _, err := d.WaitLines(ctx, from, 4, "config "+serviceName+" is NXDOMAIN"); err != nil {
		t.Fatalf("waiting for lookups that find nothing: %v", err)
	}
	assertShares(t, bs, spread(t, ctx, conn, bs, 150), 150)
}

// assertShares checks that each backend served at least a fifth of its fair
// share of n calls.
func assertShares(t testing.TB, bs []*balancertest.Backend, got []int64, n int) {
	t.Helper()
	low := int64(n / len(bs) / 5)
	for i, b := range bs {
		if got[i] < low {
			t.Errorf("%s served %d of %d calls (all: %v), want at least %d", b.Name, got[i], n, got, low)
		}
	}
}
