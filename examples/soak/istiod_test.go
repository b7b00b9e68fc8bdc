//go:build istiod

package main

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/istiod"
	"github.com/meshmatch/meshmatch/testing/omtest"
	"github.com/meshmatch/meshmatch/xds"
)

// TestSoakRealIstiod runs the short soak of the xds strategy on a real
// istiod (file-config mode, testing/istiod): the core's services as
// ServiceEntries whose endpoints the faults edit, and istiod killed and
// started again as the strategy's own fault. Real istiod puts Istio's
// default retry policy on every route, which the fake istiod only copies.
func TestSoakRealIstiod(t *testing.T) {
	istiod.RequireBinary(t)
	srv := istiod.NewServer(t, istiod.Options{})
	shortSoak(t, "xds", func(c *config) {
		c.newDiscovery = func(_ config, replicas map[omtest.Service][]string) (discovery, error) {
			d := &realIstiod{srv: srv, ports: map[omtest.Service]int{},
				strat: &xds.Strategy{IstiodAddr: srv.XDSAddr(), CertDir: t.TempDir(), ProbeTimeout: 5 * time.Second, Env: podEnv}}
			for svc, addrs := range replicas {
				if _, err := d.list(context.Background(), svc, addrs); err != nil {
					return nil, err
				}
			}
			return d, nil
		}
	})
}

// podEnv is what the Istio agent's injection gives a pod.
func podEnv(k string) string {
	return map[string]string{"POD_NAME": "soak-0", "POD_NAMESPACE": "open-match", "INSTANCE_IP": "127.0.0.1"}[k]
}

// realIstiod serves the replicas as ServiceEntries of a real istiod.
type realIstiod struct {
	srv   *istiod.Server
	strat balancer.Strategy
	ports map[omtest.Service]int
}

func (*realIstiod) strategy() string { return "xds" }
func (d *realIstiod) target(svc omtest.Service) (string, balancer.Strategy) {
	return net.JoinHostPort(serviceName(svc), strconv.Itoa(d.ports[svc])), d.strat
}
func (d *realIstiod) list(_ context.Context, svc omtest.Service, addrs []string) (bool, error) {
	_, port, err := splitAddrs(addrs)
	if err != nil {
		return false, err
	}
	d.ports[svc] = port
	return true, d.srv.SetService(istiod.Service{Name: "om-" + string(svc), Host: serviceName(svc), Port: port, Endpoints: addrs})
}
func (*realIstiod) faults() []string { return []string{faultIstiodRestart} }
func (d *realIstiod) breakFor(ctx context.Context, _ string, hd time.Duration) error {
	d.srv.Kill()
	hold(ctx, hd)
	return d.srv.Start(context.WithoutCancel(ctx))
}
func (*realIstiod) close() {}
