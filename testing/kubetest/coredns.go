package kubetest

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

// CoreDNS ports on 127.0.0.1 inside the namespace (DNS itself is on port 53
// of every address, DNSAddr among them).
const (
	coreDNSHealthAddr = "127.0.0.1:8091"
	coreDNSReadyAddr  = "127.0.0.1:8181"
)

// corednsRBAC is the ServiceAccount CoreDNS runs as and the ClusterRole a
// cluster's CoreDNS deployment grants it (system:coredns).
const corednsRBAC = `apiVersion: v1
kind: ServiceAccount
metadata: {name: coredns, namespace: kube-system}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- apiGroups: [""]
  resources: [endpoints, services, pods, namespaces]
  verbs: [list, watch]
- apiGroups: [discovery.k8s.io]
  resources: [endpointslices]
  verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects:
- {kind: ServiceAccount, name: coredns, namespace: kube-system}
`

// corefile is a cluster's stock Corefile for cluster.local, trimmed to the
// plugins the test binary has: no forward (nothing leaves the namespace),
// no prometheus, loop, reload or loadbalance. The kubernetes plugin's TTL is
// its default, 5 s; cache 30 caps each answer at its record's TTL.
const corefile = `.:53 {
    errors
    health %s
    ready %s
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig %s coredns
        pods insecure
    }
    cache 30
}
`

// CoreDNS is the cluster DNS: a CoreDNS process serving cluster.local from
// the API server on port 53 of DNSAddr, where the namespace's resolv.conf
// points. It copies a cluster's kube-dns: the stock Corefile, the
// system:coredns ClusterRole, headless Services answered with one A record
// per ready endpoint (TTL 5) and SRV records per named port. Stop, Kill,
// Running and Log act on the process.
type CoreDNS struct{ daemon }

// StartCoreDNS starts CoreDNS against c with the binary from CoreDNS
// (skipping t without it) and stops it when t's test ends.
func StartCoreDNS(t testing.TB, c *Cluster) *CoreDNS {
	t.Helper()
	bin := CoreDNSBinary.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	d, err := NewCoreDNS(ctx, c, bin)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("coredns output:\n%s", d.Log(60))
		}
		d.Stop()
	})
	return d
}

// NewCoreDNS grants CoreDNS's ServiceAccount its ClusterRole on c, writes
// its kubeconfig (with that ServiceAccount's token) and Corefile, and starts
// it. The caller must Stop it.
func NewCoreDNS(ctx context.Context, c *Cluster, bin string) (*CoreDNS, error) {
	if err := c.Apply(ctx, []byte(corednsRBAC)); err != nil {
		return nil, err
	}
	token, err := c.Token(ctx, "kube-system", "coredns")
	if err != nil {
		return nil, err
	}
	kc, err := c.Kubeconfig("coredns", token)
	if err != nil {
		return nil, err
	}
	config := filepath.Join(c.Dir(), "Corefile")
	d := &CoreDNS{newDaemon(proctest.Config{Name: "coredns", Path: bin, Args: []string{"-conf", config}, StopGrace: 10 * time.Second})}
	if err := writeFile(config, fmt.Sprintf(corefile, coreDNSHealthAddr, coreDNSReadyAddr, kc)); err != nil {
		return nil, err
	}
	return d, d.Start(ctx)
}

// Start starts CoreDNS (again, after Stop or Kill) and waits within ctx
// until its ready plugin says the kubernetes plugin has synced with the API
// server.
func (d *CoreDNS) Start(ctx context.Context) error {
	p, err := d.spawn()
	if err != nil {
		return err
	}
	err = p.WaitReady(ctx, 50*time.Millisecond, func(ctx context.Context) error {
		return getOK(ctx, d.http, "http://"+coreDNSReadyAddr+"/ready")
	})
	if err != nil {
		return fmt.Errorf("kubetest: start coredns: %w", err)
	}
	return nil
}

// Addr returns CoreDNS's DNS address, DNSAddr:53.
func (d *CoreDNS) Addr() string { return DNSAddr.String() + ":53" }

// getOK GETs url and returns nil for a 200 answer.
func getOK(ctx context.Context, c *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return nil
}
