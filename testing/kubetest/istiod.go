package kubetest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

// istiod's addresses on 127.0.0.1 inside the namespace.
const (
	// IstiodXDSAddr is istiod's plaintext xDS address, Istio's port 15010.
	IstiodXDSAddr    = "127.0.0.1:15010"
	istiodMonitoring = "127.0.0.1:15014"
)

// istiodMeshConfig is istiod's mesh configuration: Istio's defaults for a
// plaintext mesh whose proxies find istiod at IstiodXDSAddr.
const istiodMeshConfig = `rootNamespace: istio-system
trustDomain: cluster.local
enableAutoMtls: false
defaultConfig:
  discoveryAddress: 127.0.0.1:15010
`

// Istiod is istiod in Kubernetes mode: pilot-discovery with a kubeconfig
// for the test cluster, reading Services and EndpointSlices (no
// ServiceEntry) the way it does in a cluster, with Istio's CRDs applied and
// its namespace created first. It sends a proxyless client what it sends in
// a cluster, the default retry policy on every route included. Stop, Kill,
// Running and Log act on the process.
type Istiod struct {
	daemon
	dir string
}

// StartIstiod starts istiod against c with the binary from IstiodBinary
// (skipping t without it) and stops it when t's test ends.
func StartIstiod(t testing.TB, c *Cluster) *Istiod {
	t.Helper()
	bin := IstiodBinary.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	d, err := NewIstiod(ctx, c, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("istiod output:\n%s", d.Log(60))
		}
		d.Stop()
	})
	return d
}

// CRDFile returns the Istio CRDs that .ci/istiod.sh puts next to bin.
func CRDFile(bin string) string { return filepath.Join(filepath.Dir(bin), "crd-all.gen.yaml") }

// NewIstiod applies Istio's CRDs (CRDFile(bin)) and the istio-system
// namespace to c, writes istiod's kubeconfig (the cluster admin's, as
// istiod's ClusterRole is nearly that) and mesh config, and starts the
// pilot-discovery binary bin. The caller must Stop it.
func NewIstiod(ctx context.Context, c *Cluster, bin string) (*Istiod, error) {
	crds, err := os.ReadFile(CRDFile(bin))
	if err != nil {
		return nil, fmt.Errorf("kubetest: istiod needs Istio's CRDs: %w; .ci/istiod.sh puts them next to the binary", err)
	}
	if err := c.applyCRDs(ctx, crds); err != nil {
		return nil, err
	}
	if err := c.Apply(ctx, []byte("apiVersion: v1\nkind: Namespace\nmetadata: {name: istio-system}\n")); err != nil {
		return nil, err
	}
	dir := filepath.Join(c.Dir(), "istiod")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	if _, err := c.Kubeconfig("istiod", c.AdminToken()); err != nil {
		return nil, err
	}
	if err := writeFile(filepath.Join(dir, "mesh.yaml"), istiodMeshConfig); err != nil {
		return nil, err
	}
	d := &Istiod{dir: dir}
	d.daemon = newDaemon(proctest.Config{Name: "istiod", Path: bin, Args: d.args(), Env: d.env(), StopGrace: 10 * time.Second})
	return d, d.Start(ctx)
}

// applyCRDs applies each CRD of the stream and fails only when the API
// server accepted none of them: istiod runs with the ones it got, as in a
// cluster where some fail validation.
func (c *Cluster) applyCRDs(ctx context.Context, crds []byte) error {
	var refused []string
	docs := splitDocuments(crds)
	for _, doc := range docs {
		if err := c.Apply(ctx, doc); err != nil {
			refused = append(refused, err.Error())
		}
	}
	if len(refused) == len(docs) {
		return fmt.Errorf("kubetest: the API server accepted none of Istio's %d CRDs: %s", len(docs), strings.Join(refused, "; "))
	}
	return c.waitCRDs(ctx)
}

// waitCRDs waits until discovery serves Istio's networking API.
func (c *Cluster) waitCRDs(ctx context.Context) error {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		_, err := c.Do(ctx, http.MethodGet, "/apis/networking.istio.io/v1", nil, "")
		if err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("kubetest: Istio CRDs not served: %w (%v)", ctx.Err(), err)
		}
	}
}

func (d *Istiod) args() []string {
	return []string{
		"discovery", "--kubeconfig=" + filepath.Join(filepath.Dir(d.dir), "istiod.kubeconfig"),
		"--meshConfig=" + filepath.Join(d.dir, "mesh.yaml"),
		"--networksConfig=" + filepath.Join(d.dir, "no-networks.yaml"),
		"--domain=cluster.local", "--namespace=istio-system",
		"--grpcAddr=" + IstiodXDSAddr, "--secureGRPCAddr=",
		"--httpAddr=127.0.0.1:0", "--httpsAddr=127.0.0.1:0",
		"--monitoringAddr=" + istiodMonitoring,
		"--ctrlz_address=127.0.0.1", "--ctrlz_port=0",
	}
}

// env is istiod's whole environment: no CA, no Gateway API controller.
func (d *Istiod) env() []string {
	return []string{
		"HOME=" + d.dir, "PATH=/usr/bin:/bin",
		"POD_NAMESPACE=istio-system", "ENABLE_CA_SERVER=false", "PILOT_ENABLE_GATEWAY_API=false",
	}
}

// Start starts istiod (again, after Stop or Kill) and waits within ctx
// until it serves xDS and its monitoring port answers.
func (d *Istiod) Start(ctx context.Context) error {
	p, err := d.spawn()
	if err != nil {
		return err
	}
	if _, _, err := p.WaitLine(ctx, 0, "starting gRPC discovery service at"); err != nil {
		return fmt.Errorf("kubetest: start istiod: %w", err)
	}
	err = p.WaitReady(ctx, 50*time.Millisecond, func(ctx context.Context) error {
		return getOK(ctx, d.http, "http://"+istiodMonitoring+"/version")
	})
	if err != nil {
		return fmt.Errorf("kubetest: start istiod: %w", err)
	}
	return nil
}
