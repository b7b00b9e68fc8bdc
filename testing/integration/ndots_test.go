//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/proctest"
)

// envNdotsChild marks the copy of the test binary that runs inside a mount
// namespace with a Kubernetes-shaped /etc/resolv.conf.
const envNdotsChild = "MESHMATCH_NDOTS_CHILD"

// kubeResolvConf is what kubelet writes into a pod in namespace open-match.
// The nameserver is never asked: the test's strategy sends its queries to
// dnstest.
const kubeResolvConf = `nameserver 127.0.0.1
search open-match.svc.cluster.local svc.cluster.local cluster.local
options ndots:5
`

// fqdn is a fully qualified service name with fewer dots than ndots.
const fqdn = "open-match-frontend.open-match.svc.cluster.local"

// TestFQDNSkipsSearchPath: with Kubernetes' ndots:5, looking up a fully
// qualified service name queries only that name, not its search-path
// expansions first (8 extra queries per refresh). Go's resolver reads the
// search path from /etc/resolv.conf only, so the test runs itself again in
// a private mount namespace (unshare) with a pod's resolv.conf bound over
// it; nothing outside that process sees the file.
func TestFQDNSkipsSearchPath(t *testing.T) {
	if os.Getenv(envNdotsChild) != "" {
		checkOnlyFQDNQueried(t)
		return
	}
	unshare := debianBinary("unshare", "/usr/bin", "util-linux").Require(t)
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	if err := os.WriteFile(conf, []byte(kubeResolvConf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(testContext(t), unshare, "--user", "--map-root-user", "--mount", "sh", "-c",
		`mount --bind "$1" /etc/resolv.conf && exec "$2" -test.run '^TestFQDNSkipsSearchPath$' -test.v`,
		"sh", conf, os.Args[0])
	cmd.Env = append(os.Environ(), envNdotsChild+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil && strings.Contains(string(out), "unshare:") {
		proctest.SkipOrFail(t, fmt.Sprintf("cannot make a mount namespace here: %s", bytes.TrimSpace(out)))
	}
	if err != nil {
		t.Fatalf("test in a mount namespace with a pod's resolv.conf: %v\n%s", err, out)
	}
	t.Logf("in the mount namespace:\n%s", out)
}

// checkOnlyFQDNQueried runs inside the namespace.
func checkOnlyFQDNQueried(t *testing.T) {
	if b, err := os.ReadFile("/etc/resolv.conf"); err != nil || string(b) != kubeResolvConf {
		t.Fatalf("/etc/resolv.conf = %q, %v; want the pod's resolv.conf", b, err)
	}
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 1)
	srv := dnstest.NewServer(t)
	srv.Set(fqdn, ips(bs)...)
	conn := balancertest.Dial(t, balancer.Headless{DNS: balancer.DNS{Server: srv.Addr(), RefreshInterval: testRefresh}}, net.JoinHostPort(fqdn, port(bs)))
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatal(err)
	}
	if err := srv.WaitQueries(ctx, 10); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	names := srv.QueriedNames()
	if got, all := names[fqdn+"."], srv.Queries(); got != all {
		t.Errorf("%d of %d DNS queries were for %s., want all; queried: %v", all-got, all, fqdn, names)
	}
}
