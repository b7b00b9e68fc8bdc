//go:build kubernetes

package kubernetes

import (
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// podHosts returns the first n pod addresses as strings.
func podHosts(n int) []string {
	hs := make([]string, n)
	for i := range hs {
		hs[i] = kubetest.PodAddr(i).String()
	}
	return hs
}

// serviceSeq makes Service names unique within the run.
var serviceSeq atomic.Int64

// newService creates a Service in namespace open-match for the backends'
// port with their addresses as ready endpoints.
func newService(t testing.TB, c *kubetest.Cluster, headless bool, bs []*balancertest.Backend) kubetest.Service {
	t.Helper()
	s := kubetest.Service{
		Namespace: "open-match", Name: fmt.Sprintf("svc-%d", serviceSeq.Add(1)),
		Port: int32(int(bs[0].AddrPort().Port())), Headless: headless,
	}
	ctx := testContext(t)
	if err := c.ApplyService(ctx, s); err != nil {
		t.Fatal(err)
	}
	setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(bs)...))
	return s
}

func setEndpoints(t testing.TB, c *kubetest.Cluster, s kubetest.Service, eps []kubetest.Endpoint) {
	t.Helper()
	if err := c.SetEndpoints(testContext(t), s, eps); err != nil {
		t.Fatal(err)
	}
}

// headlessHarness serves the backends as the ready endpoints of a headless
// Service, which the client resolves through CoreDNS with the system
// resolver, as in a pod.
func headlessHarness(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
	c, _ := env(t)
	s := newService(t, c, true, bs)
	return balancertest.Setup{
		Strategy: balancer.Headless{DNS: balancer.DNS{RefreshInterval: testRefresh}},
		Addr:     s.Addr(),
		SetBackends: func(t testing.TB, live []*balancertest.Backend) {
			setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(live)...))
		},
	}
}

func TestHeadlessCoreDNSConformance(t *testing.T) {
	env(t)
	balancertest.RunOn(t, podHosts(4), headlessHarness)
}

// TestHeadlessCoreDNSNotReady turns one of three pods not ready and adds a
// fourth: once the client calls the fourth (it has seen the new answer), it
// no longer calls the not-ready one, which CoreDNS drops, unless the
// Service has publishNotReadyAddresses.
func TestHeadlessCoreDNSNotReady(t *testing.T) {
	c, _ := env(t)
	for _, publish := range []bool{false, true} {
		t.Run(fmt.Sprintf("publishNotReadyAddresses=%v", publish), func(t *testing.T) {
			ctx := testContext(t)
			bs := balancertest.StartBackendsAt(t, podHosts(4))
			s := kubetest.Service{Namespace: "open-match", Name: fmt.Sprintf("svc-%d", serviceSeq.Add(1)),
				Port: int32(int(bs[0].AddrPort().Port())), Headless: true, PublishNotReadyAddresses: publish}
			if err := c.ApplyService(ctx, s); err != nil {
				t.Fatal(err)
			}
			setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(bs[:3])...))
			conn := balancertest.Dial(t, balancer.Headless{DNS: balancer.DNS{RefreshInterval: testRefresh}}, s.Addr())
			if err := calltest.WaitServed(ctx, conn, bs[:3]); err != nil {
				t.Fatal(err)
			}
			eps := kubetest.Ready(balancertest.IPs(bs)...)
			eps[0].NotReady = true
			setEndpoints(t, c, s, eps)
			if err := calltest.WaitServed(ctx, conn, bs[3:]); err != nil {
				t.Fatalf("after adding %s: %v", bs[3].Name, err)
			}
			if publish {
				if err := calltest.WaitServed(ctx, conn, bs); err != nil {
					t.Fatalf("with publishNotReadyAddresses, not-ready %s: %v", bs[0].Name, err)
				}
				return
			}
			if err := waitNotServed(ctx, conn, bs[0], 30); err != nil {
				t.Fatalf("after turning %s not ready: %v", bs[0].Name, err)
			}
		})
	}
}
