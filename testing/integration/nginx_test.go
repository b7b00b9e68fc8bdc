//go:build integration

package integration

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

// nginxBinary is the server, as Debian's nginx-light installs it.
var nginxBinary = debianBinary("nginx", "/usr/sbin", "nginx-light")

// nginxConf proxies gRPC (HTTP/2 cleartext, prior knowledge) on one loopback
// address to the upstreams, round robin per request. A backend that refuses
// connections is skipped for the next one (grpc_next_upstream error) and
// left out for a second. One process (master_process off) so that a single
// kill stops it and the round robin state is not split across workers.
// Every path is inside the test's directory.
var nginxConf = template.Must(template.New("nginx.conf").Parse(`daemon off;
master_process off;
error_log stderr notice;
pid {{.Dir}}/nginx.pid;
lock_file {{.Dir}}/nginx.lock;
events { worker_connections 256; }
http {
    log_format meshmatch '$connection	$upstream_addr	$status';
    {{if .Quiet}}access_log off;{{else}}access_log {{.Dir}}/access.log meshmatch;{{end}}
    client_body_temp_path {{.Dir}}/client_body;
    proxy_temp_path {{.Dir}}/proxy;
    fastcgi_temp_path {{.Dir}}/fastcgi;
    uwsgi_temp_path {{.Dir}}/uwsgi;
    scgi_temp_path {{.Dir}}/scgi;
    upstream backends {
{{- range .Upstreams}}
        server {{.}} max_fails=1 fail_timeout=1s;
{{- end}}
        keepalive 16;
    }
    server {
        listen {{.Listen}} http2;
        location / {
            grpc_pass grpc://backends;
            grpc_next_upstream error timeout;
        }
    }
}
`))

// nginx is an nginx process proxying gRPC on 127.0.0.1.
type nginx struct {
	*proctest.Process
	addr  string // "127.0.0.1:port"
	dir   string
	quiet bool // no access log (as Istio's default mesh config), for benchmarks
}

// startNginx starts nginx in front of upstreams ("host:port" each) and waits
// until its port accepts connections. It skips or fails t when nginx is not
// installed.
func startNginx(t testing.TB, upstreams []string) *nginx {
	t.Helper()
	return startNginxLog(t, upstreams, false)
}

// startNginxLog is startNginx; quiet turns the access log off.
func startNginxLog(t testing.TB, upstreams []string, quiet bool) *nginx {
	t.Helper()
	path := nginxBinary.Require(t)
	ctx := testContext(t)
	for attempt := 1; ; attempt++ {
		n := &nginx{dir: t.TempDir(), quiet: quiet}
		err := n.start(ctx, t, path, upstreams)
		if err == nil {
			return n
		}
		// Another process may take the free port before nginx binds it.
		if attempt == 5 || !lostPortRace(n.Process) {
			t.Fatalf("nginx: %v", err)
		}
	}
}

// start writes the configuration, runs nginx on a free port and waits until
// the port accepts.
func (n *nginx) start(ctx context.Context, t testing.TB, path string, upstreams []string) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	n.addr = l.Addr().String()
	l.Close()
	var conf strings.Builder
	err = nginxConf.Execute(&conf, struct {
		Dir, Listen string
		Upstreams   []string
		Quiet       bool
	}{Dir: n.dir, Listen: n.addr, Upstreams: upstreams, Quiet: n.quiet})
	if err != nil {
		return err
	}
	confPath := filepath.Join(n.dir, "nginx.conf")
	if err := os.WriteFile(confPath, []byte(conf.String()), 0o644); err != nil {
		return err
	}
	n.Process = startServer(t, path, "-e", "stderr", "-p", n.dir, "-c", confPath)
	return n.waitAccepting(ctx)
}

// waitAccepting polls until nginx's port accepts a connection: nginx
// reports nothing when it starts listening.
func (n *nginx) waitAccepting(ctx context.Context) error {
	var d net.Dialer
	return n.WaitReady(ctx, 10*time.Millisecond, func(ctx context.Context) error {
		c, err := d.DialContext(ctx, "tcp", n.addr)
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// accessEntry is one request in nginx's access log.
type accessEntry struct {
	Conn     string   // nginx's serial number of the client connection
	Upstream []string // the upstreams tried, in order
	Status   int      // the HTTP status sent to the client
}

// waitAccessLog polls the access log until it holds at least want entries
// and returns them: nginx writes an entry after the response, so the client
// can see a reply before its entry exists.
func (n *nginx) waitAccessLog(ctx context.Context, want int) ([]accessEntry, error) {
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		entries, err := n.accessLog()
		if err != nil || len(entries) >= want {
			return entries, err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return entries, fmt.Errorf("access log has %d entries, want %d: %w", len(entries), want, ctx.Err())
		}
	}
}

// accessLog parses the access log.
func (n *nginx) accessLog() ([]accessEntry, error) {
	data, err := os.ReadFile(filepath.Join(n.dir, "access.log"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var entries []accessEntry
	for _, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		f := strings.Split(line, "\t")
		if len(f) != 3 {
			continue
		}
		status, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("access log line %q: %w", line, err)
		}
		entries = append(entries, accessEntry{Conn: f[0], Upstream: strings.Split(f[1], ", "), Status: status})
	}
	return entries, nil
}
