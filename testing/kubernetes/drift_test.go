//go:build kubernetes

package kubernetes

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"

	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// answer is what the drift check compares of one DNS answer.
type answer struct {
	rcode string
	rrs   []string // "A 10.244.0.1 ttl=5", sorted
}

func (a answer) String() string { return a.rcode + " [" + strings.Join(a.rrs, ", ") + "]" }

// ask sends one query for name and qtype to server.
func ask(t testing.TB, server, name string, qtype uint16) answer {
	t.Helper()
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	c := &dns.Client{Timeout: 5 * time.Second}
	r, _, err := c.Exchange(m, server)
	if err != nil {
		t.Fatalf("query %s %s at %s: %v", dns.TypeToString[qtype], name, server, err)
	}
	a := answer{rcode: dns.RcodeToString[r.Rcode]}
	for _, rr := range r.Answer {
		switch rr := rr.(type) {
		case *dns.A:
			a.rrs = append(a.rrs, fmt.Sprintf("A %s ttl=%d", rr.A, rr.Hdr.Ttl))
		case *dns.AAAA:
			a.rrs = append(a.rrs, fmt.Sprintf("AAAA %s ttl=%d", rr.AAAA, rr.Hdr.Ttl))
		default:
			a.rrs = append(a.rrs, fmt.Sprintf("%s ttl=%d", dns.TypeToString[rr.Header().Rrtype], rr.Header().Ttl))
		}
	}
	slices.Sort(a.rrs)
	return a
}

// waitAnswer waits until server answers an A query for name with records.
func waitAnswer(t testing.TB, ctx context.Context, server, name string) {
	t.Helper()
	for len(ask(t, server, name, dns.TypeA).rrs) == 0 {
		select {
		case <-ctx.Done():
			t.Fatalf("%s has no A records for %s: %v", server, name, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestDNSTestDriftCoreDNS holds testing/dnstest, which the unit tests use as
// cluster DNS, to CoreDNS serving a headless Service from EndpointSlices:
// the same rcode, records and TTLs for ready and not-ready endpoints, a
// Service with no ready endpoints, and a name that is not a Service.
func TestDNSTestDriftCoreDNS(t *testing.T) {
	c, d := env(t)
	ctx := testContext(t)
	fake := dnstest.NewServer(t)
	cases := []struct {
		name string
		eps  []kubetest.Endpoint
	}{
		{"ready", kubetest.Ready(kubetest.PodAddr(0), kubetest.PodAddr(1), kubetest.PodAddr(2))},
		{"one-not-ready", []kubetest.Endpoint{{Addr: kubetest.PodAddr(0)}, {Addr: kubetest.PodAddr(1), NotReady: true}, {Addr: kubetest.PodAddr(2), Terminating: true, NotReady: true, NotServing: true}}},
		{"none-ready", []kubetest.Endpoint{{Addr: kubetest.PodAddr(0), NotReady: true}}},
		{"no-endpoints", nil},
	}
	for _, tc := range cases {
		s := kubetest.Service{Namespace: "open-match", Name: "drift-" + tc.name, Port: 50504, Headless: true}
		if err := c.ApplyService(ctx, s); err != nil {
			t.Fatal(err)
		}
		setEndpoints(t, c, s, tc.eps)
		var eps []dnstest.Endpoint
		for _, ep := range tc.eps {
			eps = append(eps, dnstest.Endpoint{Addr: ep.Addr, NotReady: ep.NotReady})
		}
		fake.SetService(s.Host(), eps...)
	}
	// CoreDNS learns of Services and slices a moment after the API server
	// took them, each kind in order: once it answers for a Service created
	// after all the others, it has them all.
	sentinel := kubetest.Service{Namespace: "open-match", Name: "drift-sentinel", Port: 50504, Headless: true}
	if err := c.ApplyService(ctx, sentinel); err != nil {
		t.Fatal(err)
	}
	setEndpoints(t, c, sentinel, kubetest.Ready(kubetest.PodAddr(3)))
	waitAnswer(t, ctx, d.Addr(), sentinel.Host())
	for _, tc := range cases {
		host := "drift-" + tc.name + ".open-match.svc.cluster.local"
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			got, want := ask(t, fake.Addr(), host, qtype), ask(t, d.Addr(), host, qtype)
			t.Logf("%s %s: coredns %v", tc.name, dns.TypeToString[qtype], want)
			if got.String() != want.String() {
				t.Errorf("%s %s: dnstest answers %v, CoreDNS %v", tc.name, dns.TypeToString[qtype], got, want)
			}
		}
	}
	host := "not-a-service.open-match.svc.cluster.local"
	if got, want := ask(t, fake.Addr(), host, dns.TypeA), ask(t, d.Addr(), host, dns.TypeA); got.String() != want.String() {
		t.Errorf("unknown name: dnstest answers %v, CoreDNS %v", got, want)
	}
}
