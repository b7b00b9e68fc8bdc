package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"strconv"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
	"github.com/meshmatch/meshmatch/testing/omtest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// discovery is how the run's clients find the core's replicas: the
// strategy under test, the real or stand-in part it relies on (a DNS
// server, istiod, a sidecar, the Kubernetes API server), and the faults
// that part can have.
type discovery interface {
	// strategy is the name of the strategy the clients use.
	strategy() string
	// target is what the clients dial for svc and with which strategy.
	target(svc omtest.Service) (string, balancer.Strategy)
	// list makes discovery list exactly addrs ("host:port") for svc; false
	// when this discovery cannot change (static addresses).
	list(ctx context.Context, svc omtest.Service, addrs []string) (bool, error)
	// faults are the kinds of fault of the part itself (dns-outage, …).
	faults() []string
	// breakFor breaks the part for hold (or until ctx ends), then
	// restores it.
	breakFor(ctx context.Context, kind string, hold time.Duration) error
	// close stops the part.
	close()
}

// newDiscoveryFunc makes a discovery listing replicas, every service's
// listed replicas.
type newDiscoveryFunc func(c config, replicas map[omtest.Service][]string) (discovery, error)

// discoveries make a discovery for the embedded core, by strategy name;
// files with build tags add the ones on real control planes.
var discoveries = map[string]newDiscoveryFunc{
	"static":   newStatic,
	"headless": newHeadless,
	"xds":      newFakeXDS,
	"sidecar":  newSidecar,
}

// hold waits d or until ctx ends.
func hold(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// splitAddrs returns the hosts of addrs and their shared port.
func splitAddrs(addrs []string) (hosts []string, port int, err error) {
	for _, a := range addrs {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			return nil, 0, err
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			return nil, 0, fmt.Errorf("port of %s: %w", a, err)
		}
		if port != 0 && n != port {
			return nil, 0, fmt.Errorf("replicas %v do not share one port", addrs)
		}
		port = n
		hosts = append(hosts, h)
	}
	return hosts, port, nil
}

// static lists the replicas' addresses once, as a client given a fixed
// list of pods would; nothing can change it.
type static struct{ addrs map[omtest.Service][]string }

func newStatic(_ config, replicas map[omtest.Service][]string) (discovery, error) {
	return &static{addrs: replicas}, nil
}

func (*static) strategy() string { return "static" }
func (s *static) target(svc omtest.Service) (string, balancer.Strategy) {
	return s.addrs[svc][0], balancer.Static{Addrs: s.addrs[svc]}
}
func (*static) list(context.Context, omtest.Service, []string) (bool, error) { return false, nil }
func (*static) faults() []string                                             { return nil }
func (*static) breakFor(context.Context, string, time.Duration) error        { return nil }
func (*static) close()                                                       {}

// serviceName is the name a discovery lists svc's replicas under.
func serviceName(svc omtest.Service) string {
	return "om-" + string(svc) + ".open-match.svc.cluster.local"
}

// headless lists the replicas as A records of a name per service in a
// loopback DNS server (testing/dnstest, which answers as CoreDNS does for a
// headless Service: TTL 5 s), looked up again every second.
type headless struct {
	dns   *dnstest.Server
	ports map[omtest.Service]int
}

func newHeadless(_ config, replicas map[omtest.Service][]string) (discovery, error) {
	dns, err := dnstest.Start()
	if err != nil {
		return nil, fmt.Errorf("dns server: %w", err)
	}
	h := &headless{dns: dns, ports: map[omtest.Service]int{}}
	for svc, addrs := range replicas {
		if _, err := h.list(context.Background(), svc, addrs); err != nil {
			dns.Close()
			return nil, err
		}
	}
	return h, nil
}

func (*headless) strategy() string { return "headless" }
func (h *headless) target(svc omtest.Service) (string, balancer.Strategy) {
	return net.JoinHostPort(serviceName(svc), strconv.Itoa(h.ports[svc])),
		balancer.Headless{DNS: balancer.DNS{Server: h.dns.Addr(), RefreshInterval: time.Second}}
}
func (h *headless) list(_ context.Context, svc omtest.Service, addrs []string) (bool, error) {
	hosts, port, err := splitAddrs(addrs)
	if err != nil {
		return false, err
	}
	h.ports[svc] = port
	h.dns.Set(serviceName(svc), hosts...)
	return true, nil
}
func (*headless) faults() []string { return []string{faultDNSOutage} }
func (h *headless) breakFor(ctx context.Context, _ string, d time.Duration) error {
	h.dns.Stop()
	hold(ctx, d)
	return h.dns.Restart()
}
func (h *headless) close() { h.dns.Close() }

// fakeXDS serves the replicas from testing/xdstest, the fake istiod, with
// what istiod sends proxyless clients (Istio's default retry policy on the
// route included).
type fakeXDS struct {
	srv   *xdstest.Server
	ports map[omtest.Service]int
}

func newFakeXDS(_ config, replicas map[omtest.Service][]string) (discovery, error) {
	srv, err := xdstest.Start()
	if err != nil {
		return nil, fmt.Errorf("fake istiod: %w", err)
	}
	x := &fakeXDS{srv: srv, ports: map[omtest.Service]int{}}
	for svc, addrs := range replicas {
		if _, err := x.list(context.Background(), svc, addrs); err != nil {
			srv.Close()
			return nil, err
		}
	}
	return x, nil
}

func (*fakeXDS) strategy() string { return "xds" }
func (x *fakeXDS) target(svc omtest.Service) (string, balancer.Strategy) {
	return net.JoinHostPort(serviceName(svc), strconv.Itoa(x.ports[svc])),
		&xds.Strategy{Bootstrap: x.srv.Bootstrap(xdstest.DefaultNodeID), Env: func(string) string { return "" }}
}
func (x *fakeXDS) list(_ context.Context, svc omtest.Service, addrs []string) (bool, error) {
	_, port, err := splitAddrs(addrs)
	if err != nil {
		return false, err
	}
	x.ports[svc] = port
	return true, x.srv.SetEndpoints(serviceName(svc), port, addrs...)
}
func (*fakeXDS) faults() []string { return []string{faultIstiodRestart} }
func (x *fakeXDS) breakFor(ctx context.Context, _ string, d time.Duration) error {
	x.srv.Stop()
	hold(ctx, d)
	return x.srv.Restart()
}
func (x *fakeXDS) close() { x.srv.Close() }

// sidecar puts one sidecar stand-in per service (testing/istiotest.Proxy,
// which balances per call and retries like Envoy on Istio's default
// route) in front of the replicas, its address served under the service
// name by a loopback DNS server, and a fake Istio agent reporting ready.
type sidecar struct {
	dns     *dnstest.Server
	agent   *istiotest.Agent
	proxies map[omtest.Service]*istiotest.Proxy
	ups     map[omtest.Service][]string
}

func newSidecar(_ config, replicas map[omtest.Service][]string) (d discovery, err error) {
	s := &sidecar{proxies: map[omtest.Service]*istiotest.Proxy{}, ups: map[omtest.Service][]string{}}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if s.dns, err = dnstest.Start(); err != nil {
		return nil, fmt.Errorf("dns server: %w", err)
	}
	if s.agent, err = istiotest.StartAgent(); err != nil {
		return nil, fmt.Errorf("istio agent: %w", err)
	}
	for svc, addrs := range replicas {
		p, err := istiotest.StartProxy(addrs...)
		if err != nil {
			return nil, err
		}
		s.proxies[svc], s.ups[svc] = p, slices.Clone(addrs)
		host, _, _ := net.SplitHostPort(p.Addr())
		s.dns.Set(serviceName(svc), host)
	}
	return s, nil
}

func (*sidecar) strategy() string { return "sidecar" }
func (s *sidecar) target(svc omtest.Service) (string, balancer.Strategy) {
	_, port, _ := net.SplitHostPort(s.proxies[svc].Addr())
	return net.JoinHostPort(serviceName(svc), port), balancer.Sidecar{
		ProbeAddr: s.agent.Addr(), AdminAddr: s.agent.Addr(),
		DNS: balancer.DNS{Server: s.dns.Addr(), RefreshInterval: time.Second},
	}
}
func (s *sidecar) list(_ context.Context, svc omtest.Service, addrs []string) (bool, error) {
	s.ups[svc] = slices.Clone(addrs)
	return true, s.proxies[svc].SetUpstreams(addrs...)
}
func (*sidecar) faults() []string { return []string{faultSidecarRestart} }

// breakFor restarts every service's sidecar stand-in, as a restarted
// sidecar container drops all of the pod's outbound connections.
func (s *sidecar) breakFor(ctx context.Context, _ string, d time.Duration) error {
	addrs := map[omtest.Service]string{}
	for svc, p := range s.proxies {
		addrs[svc] = p.Addr()
		p.Close()
	}
	s.agent.SetReady(false)
	hold(ctx, d)
	for svc, at := range addrs {
		p, err := istiotest.StartProxyAt(at, s.ups[svc]...)
		if err != nil {
			return fmt.Errorf("restart the sidecar stand-in of %s: %w", svc, err)
		}
		s.proxies[svc] = p
	}
	s.agent.SetReady(true)
	return nil
}

func (s *sidecar) close() {
	for _, p := range s.proxies {
		p.Close()
	}
	if s.agent != nil {
		s.agent.Close()
	}
	if s.dns != nil {
		s.dns.Close()
	}
}
