//go:build kubernetes

package endpointslice_test

import (
	"context"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

func TestMain(m *testing.M) {
	os.Exit(kubetest.Main(kubetest.LeakChecked(m, func() {
		if shared.cluster != nil {
			shared.cluster.Close()
		}
	})))
}

// testTimeout bounds every wait of a test.
const testTimeout = 60 * time.Second

// maxCalls bounds every loop of calls that waits for a change.
const maxCalls = 20000

// ns is the namespace of the tests' Services.
const ns = "open-match"

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// shared is the cluster the package's tests share, started by the first
// test that needs it; each test works in Services of its own.
var shared struct {
	once    sync.Once
	err     error
	cluster *kubetest.Cluster
}

// cluster returns the shared cluster, skipping t (or failing it in CI)
// without the network namespace or the binaries.
func cluster(t testing.TB) *kubetest.Cluster {
	t.Helper()
	kubetest.RequireNetwork(t)
	etcd := kubetest.EtcdBinary.Require(t)
	api := kubetest.KubeAPIServerBinary.Require(t)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*kubetest.StartTimeout)
		defer cancel()
		shared.cluster, shared.err = kubetest.NewCluster(ctx, etcd, api)
	})
	if shared.err != nil {
		t.Fatalf("control plane: %v", shared.err)
	}
	return shared.cluster
}

// serviceAccount creates ServiceAccount sa in ns (with the watcher Role
// when grant) and returns a file holding one of its tokens.
func serviceAccount(t testing.TB, c *kubetest.Cluster, sa string, grant bool) string {
	t.Helper()
	return serviceAccountIn(t, c, ns, sa, grant)
}

// serviceAccountIn is serviceAccount in namespace namespace: the
// ServiceAccount, and its Role when grant, live there.
func serviceAccountIn(t testing.TB, c *kubetest.Cluster, namespace, sa string, grant bool) string {
	t.Helper()
	file, err := c.ServiceAccountToken(testContext(t), namespace, sa, grant, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return file
}

// strategy returns the strategy with explicit credentials: the API server
// of c and a token of a ServiceAccount allowed to list and watch.
func strategy(t testing.TB, c *kubetest.Cluster) *endpointslice.Strategy {
	return &endpointslice.Strategy{
		APIServer: c.URL(), CAFile: c.CAFile(), Namespace: ns,
		TokenFile: serviceAccount(t, c, "meshmatch-watcher", true),
	}
}

// serviceSeq makes Service names unique within the run.
var serviceSeq atomic.Int64
