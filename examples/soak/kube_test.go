//go:build kubernetes

package main

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/testing/kubetest"
	"github.com/meshmatch/meshmatch/testing/omtest"
	"github.com/meshmatch/meshmatch/xds"
)

// corePorts are Open-Match's ports of frontend, backend and query.
var corePorts = [3]int{omtest.FrontendPort, omtest.BackendPort, omtest.QueryPort}

// TestSoakKubernetes runs the short soak on the test control plane
// (kube-apiserver, CoreDNS, istiod in Kubernetes mode), the core's
// replicas and the match functions on pod addresses, the core's services
// as headless Services whose EndpointSlices the tests write as the
// EndpointSlice controller would:
//
//   - endpointslice: the API server's EndpointSlices, restarted as a fault;
//   - headless-coredns: CoreDNS answering for the Services, down 20 s;
//   - xds-istiod: istiod, killed and started again.
func TestSoakKubernetes(t *testing.T) {
	kubetest.RequireNetwork(t)
	c := kubetest.StartCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for i, svc := range coreServices {
		if err := c.ApplyService(ctx, kubeService(svc, i)); err != nil {
			t.Fatal(err)
		}
	}
	kinds := []struct {
		name  string
		start func(t *testing.T) newDiscoveryFunc
	}{
		{"endpointslice", func(t *testing.T) newDiscoveryFunc {
			s := &endpointslice.Strategy{APIServer: c.URL(), CAFile: c.CAFile(), Namespace: "open-match", TokenFile: watcherToken(t, c)}
			return kubeDiscovery(c, "endpointslice", s, faultAPIServerRestart, func(ctx context.Context, d time.Duration) error {
				c.StopAPIServer()
				hold(ctx, d)
				return c.StartAPIServer(context.WithoutCancel(ctx))
			})
		}},
		{"headless-coredns", func(t *testing.T) newDiscoveryFunc {
			dns := kubetest.StartCoreDNS(t, c)
			return kubeDiscovery(c, "headless", balancer.Headless{DNS: balancer.DNS{RefreshInterval: defaultRefresh}}, faultDNSOutage,
				func(ctx context.Context, d time.Duration) error {
					dns.Kill()
					hold(ctx, d)
					return dns.Start(context.WithoutCancel(ctx))
				})
		}},
		{"xds-istiod", func(t *testing.T) newDiscoveryFunc {
			d := kubetest.StartIstiod(t, c)
			env := map[string]string{"POD_NAME": "soak-0", "POD_NAMESPACE": "open-match", "INSTANCE_IP": kubetest.PodAddr(15).String()}
			s := &xds.Strategy{IstiodAddr: kubetest.IstiodXDSAddr, Env: func(k string) string { return env[k] }, CertDir: t.TempDir(), ProbeTimeout: 5 * time.Second}
			return kubeDiscovery(c, "xds", s, faultIstiodRestart, func(ctx context.Context, hd time.Duration) error {
				d.Kill()
				hold(ctx, hd)
				return d.Start(context.WithoutCancel(ctx))
			})
		}},
	}
	for _, k := range kinds {
		t.Run(k.name, func(t *testing.T) {
			nd := k.start(t)
			strategy := map[string]string{"endpointslice": "endpointslice", "headless-coredns": "headless", "xds-istiod": "xds"}[k.name]
			shortSoak(t, strategy, func(cfg *config) {
				cfg.hosts = podHosts
				cfg.newDiscovery = nd
				cfg.out = filepath.Join(filepath.Dir(cfg.out), k.name)
			})
		})
	}
}

// kubeService is the headless Service of svc in namespace open-match.
func kubeService(svc omtest.Service, i int) kubetest.Service {
	return kubetest.Service{Namespace: "open-match", Name: "om-" + string(svc), Port: int32(corePorts[i]), PortName: "grpc", Headless: true}
}

// podHosts puts the core's replicas on pods 0–3 with Open-Match's ports
// and the match functions on pods 8 on.
func podHosts(mmfs int) hosts {
	h := hosts{corePorts: corePorts}
	for i := range listedReplicas + 1 {
		h.core = append(h.core, kubetest.PodAddr(i).String())
	}
	for i := range mmfs {
		h.mmf = append(h.mmf, kubetest.PodAddr(8+i).String())
	}
	return h
}

// watcherToken is a token of a ServiceAccount granted what deploy/ grants
// the clients: list and watch on EndpointSlices in open-match.
func watcherToken(t *testing.T, c *kubetest.Cluster) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	file, err := c.ServiceAccountToken(ctx, "open-match", "soak", true, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// kube lists the core's replicas as the ready endpoints of the Services'
// EndpointSlices; strategy reads them (through the API server, CoreDNS or
// istiod) and breakPart is the fault of that part.
type kube struct {
	c         *kubetest.Cluster
	name      string
	strat     balancer.Strategy
	kind      string
	breakPart func(ctx context.Context, d time.Duration) error

	mu sync.Mutex // one EndpointSlice write at a time
}

func kubeDiscovery(c *kubetest.Cluster, name string, s balancer.Strategy, kind string, breakPart func(context.Context, time.Duration) error) newDiscoveryFunc {
	return func(_ config, replicas map[omtest.Service][]string) (discovery, error) {
		k := &kube{c: c, name: name, strat: s, kind: kind, breakPart: breakPart}
		for svc, addrs := range replicas {
			if _, err := k.list(context.Background(), svc, addrs); err != nil {
				return nil, err
			}
		}
		return k, nil
	}
}

func (k *kube) strategy() string { return k.name }
func (k *kube) target(svc omtest.Service) (string, balancer.Strategy) {
	i := indexOf(svc)
	return net.JoinHostPort(serviceName(svc), strconv.Itoa(corePorts[i])), k.strat
}
func (k *kube) list(ctx context.Context, svc omtest.Service, addrs []string) (bool, error) {
	hosts, _, err := splitAddrs(addrs)
	if err != nil {
		return false, err
	}
	var ips []netip.Addr
	for _, h := range hosts {
		ip, err := netip.ParseAddr(h)
		if err != nil {
			return false, err
		}
		ips = append(ips, ip)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// While the API server is down (its own fault), the write waits for it,
	// as the EndpointSlice controller would.
	for {
		err := k.c.SetEndpoints(ctx, kubeService(svc, indexOf(svc)), kubetest.Ready(ips...))
		if err == nil || ctx.Err() != nil {
			return true, err
		}
		if k.c.APIServerRunning() {
			return true, fmt.Errorf("endpoints of %s: %w", svc, err)
		}
		hold(ctx, 500*time.Millisecond)
	}
}
func (k *kube) faults() []string { return []string{k.kind} }
func (k *kube) breakFor(ctx context.Context, _ string, d time.Duration) error {
	return k.breakPart(ctx, d)
}
func (k *kube) close() {}

func indexOf(svc omtest.Service) int {
	for i, s := range coreServices {
		if s == svc {
			return i
		}
	}
	return -1
}
