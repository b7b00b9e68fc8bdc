package omclient_test

import (
	"context"
	"net"
	"net/netip"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/dnsresolver"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
)

// lookups wraps a DNS lookup and counts the lookups that failed or found
// nothing, so that tests can wait until the resolver has seen a fault.
type lookups struct {
	lookup dnsresolver.LookupFunc

	mu      sync.Mutex
	failed  int
	changed chan struct{}
}

func newLookups(server string) *lookups {
	return &lookups{lookup: dnsresolver.NewLookup(server), changed: make(chan struct{})}
}

func (l *lookups) Lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	ips, err := l.lookup(ctx, host)
	if err != nil || len(ips) == 0 {
		l.mu.Lock()
		l.failed++
		close(l.changed)
		l.changed = make(chan struct{})
		l.mu.Unlock()
	}
	return ips, err
}

// waitFailed waits until n more lookups than now have failed.
func (l *lookups) waitFailed(t *testing.T, ctx context.Context, n int) {
	t.Helper()
	l.mu.Lock()
	want := l.failed + n
	l.mu.Unlock()
	for {
		l.mu.Lock()
		got, changed := l.failed, l.changed
		l.mu.Unlock()
		if got >= want {
			return
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("%d failed lookups, want %d: %v", got, want, ctx.Err())
		}
	}
}

// dnsStrategies are the strategies that find pods through DNS.
var dnsStrategies = []struct {
	name  string
	build func(t *testing.T, l *lookups) balancer.Strategy
}{
	{name: "headless", build: func(_ *testing.T, l *lookups) balancer.Strategy {
		return balancer.Headless{DNS: balancer.DNS{Lookup: l.Lookup, RefreshInterval: faultRefresh}}
	}},
	{name: "sidecar", build: func(t *testing.T, l *lookups) balancer.Strategy {
		agent := istiotest.NewAgent(t)
		return balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: agent.Addr(), DNS: balancer.DNS{Lookup: l.Lookup, RefreshInterval: faultRefresh}}
	}},
}

func ipOf(b *balancertest.Backend) string {
	ip, _, _ := net.SplitHostPort(b.Addr)
	return ip
}

// TestFaultDNS: a DNS server that is down, answers nothing or fails keeps
// the connection on its last good addresses; a changed answer is adopted;
// a DNS server down from the start fails calls with Unavailable until it
// answers.
func TestFaultDNS(t *testing.T) {
	t.Parallel()
	faults := []struct {
		name  string
		fault func(dns *dnstest.Server, bs []*balancertest.Backend)
	}{
		{name: "server down", fault: func(dns *dnstest.Server, _ []*balancertest.Backend) { dns.Stop() }},
		{name: "answers nothing", fault: func(dns *dnstest.Server, _ []*balancertest.Backend) { dns.SetMode(dnstest.Empty) }},
		{name: "SERVFAIL", fault: func(dns *dnstest.Server, _ []*balancertest.Backend) { dns.SetMode(dnstest.ServFail) }},
		{name: "name removed", fault: func(dns *dnstest.Server, _ []*balancertest.Backend) { dns.Remove(faultHost) }},
	}
	for _, st := range dnsStrategies {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			for _, f := range faults {
				t.Run("last good set kept/"+f.name, func(t *testing.T) {
					ctx := testContext(t)
					bs := balancertest.StartBackends(t, 2)
					dns := dnstest.NewServer(t)
					dns.Set(faultHost, ipOf(bs[0]), ipOf(bs[1]))
					l := newLookups(dns.Addr())
					_, port, _ := net.SplitHostPort(bs[0].Addr)
					fe := omclient.NewFrontend(faultConn(t, st.build(t, l), net.JoinHostPort(faultHost, port)))
					waitServed(t, ctx, fe, bs...)

					f.fault(dns, bs)
					l.waitFailed(t, ctx, 2)
					served := map[string]int{}
					for i := range 20 {
						tk, err := fe.GetTicket(ctx, "t")
						require.NoError(t, err, "GetTicket() call %d after the DNS fault", i)
						served[tk.GetId()]++
					}
					assert.Equal(t, map[string]int{bs[0].Name: 10, bs[1].Name: 10}, served, "calls per backend after the DNS fault")
				})
			}
			t.Run("changed set adopted", func(t *testing.T) {
				ctx := testContext(t)
				bs := balancertest.StartBackends(t, 3)
				dns := dnstest.NewServer(t)
				dns.Set(faultHost, ipOf(bs[0]), ipOf(bs[1]))
				l := newLookups(dns.Addr())
				_, port, _ := net.SplitHostPort(bs[0].Addr)
				fe := omclient.NewFrontend(faultConn(t, st.build(t, l), net.JoinHostPort(faultHost, port)))
				waitServed(t, ctx, fe, bs[0], bs[1])

				dns.Set(faultHost, ipOf(bs[1]), ipOf(bs[2]))
				waitServed(t, ctx, fe, bs[2])
				before := bs[0].Calls()
				for i := range 20 {
					_, err := fe.GetTicket(ctx, "t")
					require.NoError(t, err, "GetTicket() call %d after the change", i)
				}
				assert.Equal(t, before, bs[0].Calls(), "calls served by the backend DNS no longer lists")
			})
			t.Run("down at start", func(t *testing.T) {
				ctx := testContext(t)
				bs := balancertest.StartBackends(t, 1)
				dns := dnstest.NewServer(t)
				dns.Set(faultHost, ipOf(bs[0]))
				dns.Stop()
				l := newLookups(dns.Addr())
				_, port, _ := net.SplitHostPort(bs[0].Addr)
				fe := omclient.NewFrontend(faultConn(t, st.build(t, l), net.JoinHostPort(faultHost, port)))
				short, cancel := context.WithTimeout(ctx, shortWait)
				defer cancel()
				_, err := fe.GetTicket(short, "t")
				assert.Equal(t, codes.Unavailable, status.Code(err), "GetTicket() with DNS down from the start = %v, want code Unavailable", err)
				assert.ErrorContains(t, err, "dnsresolver: lookup "+faultHost)

				require.NoError(t, dns.Restart(), "DNS Restart()")
				waitServed(t, ctx, fe, bs[0])
			})
		})
	}
}

// waitServed calls GetTicket until each backend in want has served a call,
// within maxCalls calls and ctx.
func waitServed(t *testing.T, ctx context.Context, fe *omclient.Frontend, want ...*balancertest.Backend) {
	t.Helper()
	left := map[string]bool{}
	for _, b := range want {
		left[b.Name] = true
	}
	callUntil(t, ctx, fe, "calls served by every wanted backend", func(name string, _ error) bool {
		delete(left, name)
		return len(left) == 0
	})
}
