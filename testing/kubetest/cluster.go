package kubetest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

// StartTimeout bounds the start of each control-plane binary. On a quiet
// 2-core machine etcd is ready in under a second and kube-apiserver's
// /readyz answers ok in 2–5 s.
const StartTimeout = 90 * time.Second

// Addresses of the control plane inside the namespace.
const (
	etcdClientURL = "http://127.0.0.1:2379"
	etcdPeerURL   = "http://127.0.0.1:2380"
	// APIServerPort is kube-apiserver's secure port on 127.0.0.1.
	APIServerPort = 6443
	// ServiceCIDR is the cluster's Service range; the kubernetes Service is
	// 10.96.0.1 and kube-dns DNSAddr.
	ServiceCIDR = "10.96.0.0/16"
)

// adminToken authenticates the test's own setup as a member of
// system:masters (a --token-auth-file user), the way a cluster admin's
// kubeconfig does.
const adminToken = "kubetest-admin-token"

// Cluster is a running etcd and kube-apiserver with RBAC enforced. Its
// methods are safe for concurrent use.
type Cluster struct {
	dir    string
	pki    *pki
	etcd   *proctest.Process
	client *http.Client
	tr     *http.Transport
	bins   struct{ etcd, api string }

	mu  sync.Mutex
	api *proctest.Process

	discoveryMu sync.Mutex
	discovery   map[string]map[string]resource // groupVersion → kind → resource
}

// StartCluster starts etcd and kube-apiserver and waits until the API
// server is ready. It skips t without the namespace or the binaries (see
// RequireNetwork and proctest.Binary.Require), and stops both when t's test
// ends, logging their output when t failed. Tests of a package usually share
// one cluster: see NewCluster.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	RequireNetwork(t)
	etcd, api := EtcdBinary.Require(t), KubeAPIServerBinary.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*StartTimeout)
	defer cancel()
	c, err := NewCluster(ctx, etcd, api)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("etcd output:\n%s\nkube-apiserver output:\n%s", c.etcd.Tail(40), c.APIServerLog(80))
		}
		c.Close()
	})
	return c
}

// NewCluster starts the etcd binary etcdBin and the kube-apiserver binary
// apiBin with a fresh data directory and credentials, and waits within ctx
// until the API server's /readyz is ok. The caller must Close it.
func NewCluster(ctx context.Context, etcdBin, apiBin string) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "meshmatch-kubetest-")
	if err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	c := &Cluster{dir: dir, discovery: map[string]map[string]resource{}}
	c.bins.etcd, c.bins.api = etcdBin, apiBin
	if err := c.start(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(ctx context.Context) error {
	var err error
	if c.pki, err = newPKI(c.dir); err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.pki.caPEM)
	c.tr = &http.Transport{Proxy: nil, TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 4, IdleConnTimeout: 30 * time.Second}
	c.client = &http.Client{Transport: c.tr}
	tokens := adminToken + ",kubetest-admin,kubetest-admin-uid,system:masters\n"
	if err := os.WriteFile(filepath.Join(c.dir, "tokens.csv"), []byte(tokens), 0o600); err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	c.etcd, err = proctest.Start(proctest.Config{
		Name: "etcd", Path: c.bins.etcd,
		Args: []string{"-data-dir", filepath.Join(c.dir, "etcd"), "-listen", etcdClientURL, "-peer", etcdPeerURL},
	})
	if err != nil {
		return fmt.Errorf("kubetest: %w", err)
	}
	ectx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	if _, _, err := c.etcd.WaitLine(ectx, 0, "etcd: ready on"); err != nil {
		return fmt.Errorf("kubetest: start etcd: %w", err)
	}
	return c.StartAPIServer(ctx)
}

func (c *Cluster) apiArgs() []string {
	return []string{
		"--etcd-servers=" + etcdClientURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", fmt.Sprintf("--secure-port=%d", APIServerPort),
		"--tls-cert-file=" + c.pki.certFile, "--tls-private-key-file=" + c.pki.keyFile,
		"--client-ca-file=" + c.pki.caFile,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + c.pki.saPubFile, "--service-account-signing-key-file=" + c.pki.saKeyFile,
		"--token-auth-file=" + filepath.Join(c.dir, "tokens.csv"),
		"--authorization-mode=RBAC", "--service-cluster-ip-range=" + ServiceCIDR,
		// No controller runs to keep the kubernetes Endpoints of a loopback
		// advertise address, which the default reconciler refuses.
		"--endpoint-reconciler-type=none",
		"--profiling=false",
	}
}

// StartAPIServer starts kube-apiserver (again, after StopAPIServer) and
// waits within ctx until /readyz is ok. Starting a running API server is an
// error.
func (c *Cluster) StartAPIServer(ctx context.Context) error {
	c.mu.Lock()
	if c.api != nil && c.api.Running() {
		c.mu.Unlock()
		return errors.New("kubetest: kube-apiserver is already running")
	}
	p, err := proctest.Start(proctest.Config{Name: "kube-apiserver", Path: c.bins.api, Args: c.apiArgs(), StopGrace: 20 * time.Second})
	if err != nil {
		c.mu.Unlock()
		return fmt.Errorf("kubetest: %w", err)
	}
	c.api = p
	c.mu.Unlock()
	actx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	err = p.WaitReady(actx, 100*time.Millisecond, func(ctx context.Context) error {
		_, err := c.Do(ctx, http.MethodGet, "/readyz", nil, "")
		return err
	})
	if err != nil {
		return fmt.Errorf("kubetest: start kube-apiserver: %w", err)
	}
	return nil
}

// StopAPIServer stops kube-apiserver (SIGTERM, its graceful shutdown) and
// waits for it to exit; etcd keeps the cluster's objects for the next
// StartAPIServer.
func (c *Cluster) StopAPIServer() {
	c.mu.Lock()
	p := c.api
	c.mu.Unlock()
	if p != nil {
		p.Stop()
	}
	c.tr.CloseIdleConnections()
}

// APIServerRunning reports whether kube-apiserver is running.
func (c *Cluster) APIServerRunning() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.api != nil && c.api.Running()
}

// APIServerLog returns the last n lines kube-apiserver printed.
func (c *Cluster) APIServerLog(n int) string {
	c.mu.Lock()
	p := c.api
	c.mu.Unlock()
	if p == nil {
		return "(never started)"
	}
	return p.Tail(n)
}

// URL returns the API server's URL, https://127.0.0.1:6443.
func (c *Cluster) URL() string { return fmt.Sprintf("https://127.0.0.1:%d", APIServerPort) }

// CAFile returns the path of the CA certificate that signed the API
// server's serving certificate (a pod's ca.crt).
func (c *Cluster) CAFile() string { return c.pki.caFile }

// AdminToken returns a bearer token of a system:masters user.
func (c *Cluster) AdminToken() string { return adminToken }

// Dir returns a directory that lives as long as the cluster, for files a
// test derives from it (kubeconfigs, Corefiles).
func (c *Cluster) Dir() string { return c.dir }

// Close stops kube-apiserver and etcd and removes the cluster's files. It is
// idempotent.
func (c *Cluster) Close() {
	c.mu.Lock()
	api := c.api
	c.api = nil
	c.mu.Unlock()
	if api != nil {
		api.Stop()
	}
	if c.etcd != nil {
		c.etcd.Stop()
	}
	if c.tr != nil {
		c.tr.CloseIdleConnections()
	}
	os.RemoveAll(c.dir)
}
