//go:build integration

package integration

import (
	"context"
	"net"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// hopService is the name the direct paths resolve to the three backends.
const hopService = "hop.meshmatch.test"

// hopChunk is how many calls one path makes before the next path's turn.
const hopChunk = 100

// hopPath is one way of reaching the three backends: a Frontend on it and,
// for the proxy, the nginx process whose CPU time counts too.
type hopPath struct {
	name  string
	fe    *omclient.Frontend
	nginx *nginx
	lat   []time.Duration
	cpu   time.Duration
}

// BenchmarkProxyHop makes b.N GetTicket calls (one at a time, through
// omclient.Frontend) on each of three paths to the same three loopback
// backends, in turns of hopChunk calls so that all three see the same
// machine load: "proxy" is the Sidecar strategy with the service name
// resolving to nginx (access log off), which proxies gRPC per request to
// the backends the way an Envoy sidecar does; "direct" is Headless (client
// round robin over the backends' IPs from DNS); "xds" is proxyless xDS from
// a fake istiod. It reports p50 and p99 latency ratios
// ("proxy-p50-ratio" and "proxy-p99-ratio" are proxy ÷ direct, "xds-p50-ratio"
// and "xds-p99-ratio" are xds ÷ direct), and CPU per call: this process's
// user+system time (getrusage, so it includes the in-process backends on
// every path) plus, for proxy, nginx's (/proc, 10 ms ticks), as
// "<path>-cpu-us/call" and "proxy-cpu-ratio", "xds-cpu-ratio".
func BenchmarkProxyHop(b *testing.B) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	bs := balancertest.StartBackends(b, 3)
	paths := []*hopPath{proxyPath(b, bs), directPath(b, bs), xdsPath(b, bs)}
	for _, p := range paths {
		warmUp(ctx, b, p, bs)
	}
	b.ResetTimer()
	for done, round := 0, 0; done < b.N; round++ {
		n := min(hopChunk, b.N-done)
		for i := range paths {
			runChunk(ctx, b, paths[(i+round)%len(paths)], n)
		}
		done += n
	}
	b.StopTimer()
	reportHop(b, paths)
}

func proxyPath(b *testing.B, bs []*balancertest.Backend) *hopPath {
	ng := startNginxLog(b, addrsOf(bs), true)
	host, port, _ := net.SplitHostPort(ng.addr)
	dns := dnstest.NewServer(b)
	dns.Set(hopService, host)
	agent := istiotest.NewAgent(b)
	s := balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: agent.Addr(), DNS: balancer.DNS{Server: dns.Addr()}}
	return &hopPath{name: "proxy", fe: hopFrontend(b, s, net.JoinHostPort(hopService, port)), nginx: ng}
}

func directPath(b *testing.B, bs []*balancertest.Backend) *hopPath {
	dns := dnstest.NewServer(b)
	dns.Set(hopService, ips(bs)...)
	s := balancer.Headless{DNS: balancer.DNS{Server: dns.Addr()}}
	return &hopPath{name: "direct", fe: hopFrontend(b, s, net.JoinHostPort(hopService, port(bs)))}
}

func xdsPath(b *testing.B, bs []*balancertest.Backend) *hopPath {
	istiod := xdstest.NewServer(b)
	p, _ := strconv.Atoi(port(bs))
	if err := istiod.SetEndpoints(hopService, p, addrsOf(bs)...); err != nil {
		b.Fatalf("SetEndpoints() = %v", err)
	}
	s := xds.Strategy{Bootstrap: istiod.Bootstrap(xdstest.DefaultNodeID), Env: func(string) string { return "" }}
	return &hopPath{name: "xds", fe: hopFrontend(b, s, net.JoinHostPort(hopService, port(bs)))}
}

func addrsOf(bs []*balancertest.Backend) []string {
	addrs := make([]string, len(bs))
	for i, bk := range bs {
		addrs[i] = bk.Addr
	}
	return addrs
}

// hopFrontend is a Frontend on s with every other default, closed at cleanup.
func hopFrontend(b *testing.B, s balancer.Strategy, addr string) *omclient.Frontend {
	c, err := omclient.NewConn(addr, omclient.WithStrategy(s))
	if err != nil {
		b.Fatalf("NewConn(%q) = %v", addr, err)
	}
	b.Cleanup(func() { _ = c.Close() })
	return omclient.NewFrontend(c)
}

// warmUp calls until every backend served a call on p, then 200 more.
func warmUp(ctx context.Context, b *testing.B, p *hopPath, bs []*balancertest.Backend) {
	wctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	before := calltest.Counts(bs)
	for i := 0; i < 200 || slices.Min(calltest.Deltas(bs, before)) == 0; i++ {
		if _, err := p.fe.GetTicket(wctx, "t"); err != nil {
			b.Fatalf("%s: warm-up call %d: %v", p.name, i, err)
		}
	}
}

// runChunk makes n calls on p, recording each latency and the CPU time of
// the chunk.
func runChunk(ctx context.Context, b *testing.B, p *hopPath, n int) {
	cpu0 := hopCPU(b, p)
	for range n {
		start := time.Now()
		if _, err := p.fe.GetTicket(ctx, "t"); err != nil {
			b.Fatalf("%s: %v", p.name, err)
		}
		p.lat = append(p.lat, time.Since(start))
	}
	p.cpu += hopCPU(b, p) - cpu0
}
