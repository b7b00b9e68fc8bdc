//go:build integration

package integration

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

// dnsmasqBinary is the server, as Debian's dnsmasq-base installs it.
var dnsmasqBinary = debianBinary("dnsmasq", "/usr/sbin", "dnsmasq-base")

// localDomain is the only domain dnsmasq answers for; names under it that
// the hosts file does not list get NXDOMAIN.
const localDomain = "meshmatch.test"

// dnsmasq is a dnsmasq process on 127.0.0.1 that answers only from a hosts
// file the test rewrites. It has no upstream server, so it never forwards a
// query anywhere.
type dnsmasq struct {
	*proctest.Process
	addr    string // "127.0.0.1:port"
	hosts   string // the hosts file dnsmasq watches
	staging string // where new hosts files are written before the rename
}

// startDNSMasq starts dnsmasq serving name → ips and waits until it has read
// them. It skips or fails t when dnsmasq is not installed.
func startDNSMasq(t testing.TB, name string, ips ...string) *dnsmasq {
	t.Helper()
	path := dnsmasqBinary.Require(t)
	dir := t.TempDir()
	d := &dnsmasq{hosts: filepath.Join(dir, "hosts.d", "hosts"), staging: filepath.Join(dir, "staging")}
	for _, sub := range []string{filepath.Dir(d.hosts), d.staging} {
		if err := os.Mkdir(sub, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.writeHosts(name, ips); err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	for attempt := 1; ; attempt++ {
		err := d.start(ctx, t, path)
		if err == nil {
			return d
		}
		// Another process may take the free port before dnsmasq binds it.
		if attempt == 5 || !lostPortRace(d.Process) {
			t.Fatalf("dnsmasq: %v", err)
		}
	}
}

// start runs dnsmasq on a free port and waits until it serves the hosts file.
func (d *dnsmasq) start(ctx context.Context, t testing.TB, path string) error {
	port, err := freeDNSPort()
	if err != nil {
		return err
	}
	d.addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	d.Process = startServer(t, path,
		"--conf-file=/dev/null", // no system configuration
		"--no-daemon",           // foreground, no pid file, no user change, log to stderr
		"--log-facility=-",
		"--log-queries",
		"--port="+strconv.Itoa(port),
		"--listen-address=127.0.0.1",
		"--bind-interfaces",
		"--no-resolv", // no upstream servers: nothing is forwarded
		"--no-hosts",  // not /etc/hosts
		"--local=/"+localDomain+"/",
		"--hostsdir="+filepath.Dir(d.hosts),
		"--local-ttl=0",
	)
	if _, _, err := d.WaitLine(ctx, 0, "started, version"); err != nil {
		return err
	}
	_, _, err = d.WaitLine(ctx, 0, "read "+d.hosts+" - ")
	return err
}

// setHosts makes name resolve to exactly ips (none: NXDOMAIN) and waits until
// dnsmasq has read the new file.
func (d *dnsmasq) setHosts(t testing.TB, name string, ips ...string) {
	t.Helper()
	from := d.Lines()
	if err := d.writeHosts(name, ips); err != nil {
		t.Fatal(err)
	}
	if _, _, err := d.WaitLine(testContext(t), from, "read "+d.hosts+" - "); err != nil {
		t.Fatalf("dnsmasq: after rewriting its hosts file: %v", err)
	}
}

// writeHosts replaces the hosts file atomically: dnsmasq watches the
// directory and must never read a half-written file. The staging directory
// is outside the watched one, so only the rename is seen.
func (d *dnsmasq) writeHosts(name string, ips []string) error {
	var b strings.Builder
	for _, ip := range ips {
		fmt.Fprintf(&b, "%s %s\n", ip, name)
	}
	tmp, err := os.CreateTemp(d.staging, "hosts-*")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), d.hosts)
}

// freeDNSPort returns a loopback port that is free for both UDP and TCP.
func freeDNSPort() (int, error) {
	var lastErr error
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := pc.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		pc.Close()
		if err != nil {
			lastErr = err
			continue
		}
		l.Close()
		return port, nil
	}
	return 0, fmt.Errorf("no port free for UDP and TCP on 127.0.0.1: %w", lastErr)
}
