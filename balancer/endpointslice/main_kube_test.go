//go:build kubernetes

package endpointslice_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

func TestMain(m *testing.M) { os.Exit(kubetest.Main(leakChecked{m})) }

// leakChecked runs the tests, stops the shared cluster, then looks for
// leaked goroutines.
type leakChecked struct{ m *testing.M }

func (l leakChecked) Run() int {
	code := l.m.Run()
	if shared.cluster != nil {
		shared.cluster.Close()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			return 1
		}
	}
	return code
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

// watcherRBAC is what deploy/ grants a client: list and watch on
// EndpointSlices in its namespace, nothing else.
const watcherRBAC = `apiVersion: v1
kind: ServiceAccount
metadata: {name: %[2]s, namespace: %[1]s}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: %[2]s, namespace: %[1]s}
rules:
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: %[2]s, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: %[2]s}
subjects:
- {kind: ServiceAccount, name: %[2]s, namespace: %[1]s}
`

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
	ctx := testContext(t)
	if err := c.EnsureNamespace(ctx, namespace); err != nil {
		t.Fatal(err)
	}
	manifest := fmt.Sprintf("apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: %s, namespace: %s}\n", sa, namespace)
	if grant {
		manifest = fmt.Sprintf(watcherRBAC, namespace, sa)
	}
	if err := c.Apply(ctx, []byte(manifest)); err != nil {
		t.Fatal(err)
	}
	tok, err := c.Token(ctx, namespace, sa)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(tok), 0o600); err != nil {
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
