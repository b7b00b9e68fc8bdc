//go:build kubernetes

package kubernetes

import (
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
	"github.com/meshmatch/meshmatch/xds"
)

// clientPod is the address of the pod the tests' clients run in.
var clientPod = kubetest.PodAddr(kubetest.Pods - 1)

// podEnv is the downward-API environment of a client pod in open-match.
func podEnv(pod string) func(string) string {
	env := map[string]string{"POD_NAME": pod, "POD_NAMESPACE": "open-match", "INSTANCE_IP": clientPod.String()}
	return func(k string) string { return env[k] }
}

// xdsStrategy is the proxyless strategy as a pod named pod uses it, with
// istiod at its cluster address.
func xdsStrategy(pod string) xds.Strategy {
	return xds.Strategy{IstiodAddr: kubetest.IstiodXDSAddr, Env: podEnv(pod), ProbeTimeout: 5 * time.Second}
}

// xdsHarness serves the backends as the ready endpoints of a headless
// Service (as Open-Match's chart makes them), which istiod in Kubernetes
// mode sends the client as an EDS cluster.
func xdsHarness(t testing.TB, bs []*balancertest.Backend) balancertest.Setup {
	c, _ := istiodEnv(t)
	s := newService(t, c, true, bs)
	return balancertest.Setup{
		Strategy: xdsStrategy("conformance"),
		Addr:     s.Addr(),
		SetBackends: func(t testing.TB, live []*balancertest.Backend) {
			setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(live)...))
		},
	}
}

func TestXDSIstiodKubernetesConformance(t *testing.T) {
	istiodEnv(t)
	balancertest.RunOn(t, podHosts(4), xdsHarness)
}

// TestXDSIstiodKubernetesRestart kills istiod while the Service's pods
// change: the client keeps calling the pods it knows, and after istiod is
// back it follows the change.
func TestXDSIstiodKubernetesRestart(t *testing.T) {
	c, d := istiodEnv(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(4))
	s := newService(t, c, true, bs[:3])
	conn := balancertest.Dial(t, xdsStrategy("restart"), s.Addr())
	if err := calltest.WaitServed(ctx, conn, bs[:3]); err != nil {
		t.Fatal(err)
	}
	d.Kill()
	setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(bs[1:])...))
	for i := range 60 {
		if _, _, err := calltest.GetTicketRetry(ctx, conn); err != nil {
			t.Fatalf("call %d with istiod down: %v", i, err)
		}
	}
	if err := d.Start(ctx); err != nil {
		t.Fatal(err)
	}
	if err := calltest.WaitServed(ctx, conn, bs[3:]); err != nil {
		t.Fatalf("after istiod's restart, the pod added while it was down: %v", err)
	}
	if err := waitNotServed(ctx, conn, bs[0], 30); err != nil {
		t.Fatalf("after istiod's restart, the pod removed while it was down: %v", err)
	}
}
