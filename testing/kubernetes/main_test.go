//go:build kubernetes

package kubernetes

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/testing/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(kubetest.LeakChecked(m, shared.close))) }

// testTimeout bounds every wait of a test. A headless client sees a change
// after CoreDNS's TTL (5 s) plus its refresh interval.
const testTimeout = 60 * time.Second

// maxCalls bounds every loop of calls that waits for a change.
const maxCalls = 20000

// testRefresh is the DNS strategies' re-resolution interval.
const testRefresh = 500 * time.Millisecond

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// controlPlane is the cluster the package's tests share, started by the
// first test that needs it: starting one costs seconds, and each test works
// in Services of its own.
type controlPlane struct {
	once    sync.Once
	err     error
	cluster *kubetest.Cluster
	dns     *kubetest.CoreDNS

	istiodOnce sync.Once
	istiodErr  error
	istiod     *kubetest.Istiod
}

var shared controlPlane

// env returns the shared cluster and CoreDNS, skipping t (or failing it in
// CI) without the namespace or the binaries.
func env(t testing.TB) (*kubetest.Cluster, *kubetest.CoreDNS) {
	t.Helper()
	kubetest.RequireNetwork(t)
	etcd := kubetest.EtcdBinary.Require(t)
	api := kubetest.KubeAPIServerBinary.Require(t)
	dns := kubetest.CoreDNSBinary.Require(t)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*kubetest.StartTimeout)
		defer cancel()
		start := time.Now()
		if shared.cluster, shared.err = kubetest.NewCluster(ctx, etcd, api); shared.err != nil {
			return
		}
		apiReady := time.Since(start)
		shared.dns, shared.err = kubetest.NewCoreDNS(ctx, shared.cluster, dns)
		fmt.Fprintf(os.Stderr, "kubernetes: etcd and kube-apiserver ready in %v, CoreDNS in %v more\n",
			apiReady.Round(time.Millisecond), (time.Since(start) - apiReady).Round(time.Millisecond))
	})
	if shared.err != nil {
		t.Fatalf("control plane: %v", shared.err)
	}
	return shared.cluster, shared.dns
}

// istiodEnv returns the shared cluster and istiod in Kubernetes mode.
func istiodEnv(t testing.TB) (*kubetest.Cluster, *kubetest.Istiod) {
	t.Helper()
	c, _ := env(t)
	bin := kubetest.IstiodBinary.Require(t)
	shared.istiodOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), kubetest.StartTimeout)
		defer cancel()
		start := time.Now()
		shared.istiod, shared.istiodErr = kubetest.NewIstiod(ctx, c, bin)
		fmt.Fprintf(os.Stderr, "kubernetes: Istio CRDs applied and istiod ready in %v\n", time.Since(start).Round(time.Millisecond))
	})
	if shared.istiodErr != nil {
		t.Fatalf("istiod: %v", shared.istiodErr)
	}
	return c, shared.istiod
}

func (c *controlPlane) close() {
	if c.istiod != nil {
		c.istiod.Stop()
	}
	if c.dns != nil {
		c.dns.Stop()
	}
	if c.cluster != nil {
		c.cluster.Close()
	}
}
