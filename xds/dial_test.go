package xds_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// dial dials svcAddr with s and closes the connection when the test ends.
func dial(t *testing.T, s xds.Strategy) balancer.Conn {
	t.Helper()
	conn, err := s.Dial(svcAddr)
	require.NoError(t, err, "Dial(%q)", svcAddr)
	t.Cleanup(func() { conn.Close() })
	return conn
}

func getTicket(ctx context.Context, conn grpc.ClientConnInterface, opts ...grpc.CallOption) (string, error) {
	tk, err := pb.NewFrontendServiceClient(conn).GetTicket(ctx, &pb.GetTicketRequest{TicketId: "t"}, opts...)
	return tk.GetId(), err
}

// waitAll calls until every backend has served a call, or fails t at the
// test deadline.
func waitAll(t *testing.T, ctx context.Context, conn grpc.ClientConnInterface, bs []*balancertest.Backend) {
	t.Helper()
	seen := map[string]bool{}
	var lastErr error
	for len(seen) < len(bs) {
		if ctx.Err() != nil {
			t.Fatalf("backends that served a call: %v of %d, last error: %v", seen, len(bs), lastErr)
		}
		name, err := getTicket(ctx, conn, grpc.WaitForReady(true))
		if err != nil {
			lastErr = err
			continue
		}
		seen[name] = true
	}
}

func TestDialInvalidAddr(t *testing.T) {
	srv := xdstest.NewServer(t)
	s := istiodStrategy(t, srv)
	for _, tc := range []struct {
		addr    string
		wantErr string
	}{
		{addr: "", wantErr: "missing port"},
		{addr: "host", wantErr: "missing port"},
		{addr: "host:", wantErr: `port "" is not a number`},
		{addr: ":80", wantErr: "missing host"},
		{addr: "host:0", wantErr: `port "0" is not a number in [1, 65535]`},
		{addr: "host:65536", wantErr: `port "65536"`},
		{addr: "host:http", wantErr: `port "http"`},
		{addr: "svc:0080", wantErr: `port "0080" is not a number in [1, 65535]`},
		{addr: "svc:+80", wantErr: `port "+80" is not a number in [1, 65535]`},
		{addr: "a..b:80", wantErr: `label "" must be 1 to 63 bytes`},
		{addr: "bad-.host:80", wantErr: `label "bad-" starts or ends with '-'`},
		{addr: "-bad.host:80", wantErr: `label "-bad" starts or ends with '-'`},
		{addr: "xds:///host:80", wantErr: "too many colons"},
		{addr: "dns:///h:1", wantErr: "too many colons"},
		{addr: "a/b:80", wantErr: `holds '/'`},
		{addr: "bad host:80", wantErr: `holds ' '`},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			conn, err := s.Dial(tc.addr)
			if err == nil {
				conn.Close()
			}
			assert.ErrorContains(t, err, "xds: invalid address")
			assert.ErrorContains(t, err, tc.wantErr)
			_, err = xds.Target(tc.addr)
			assert.ErrorContains(t, err, tc.wantErr, "Target(%q)", tc.addr)
		})
	}
}

func TestTarget(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{addr: svcAddr, want: "xds:///" + svcAddr},
		{addr: "127.0.0.1:50504", want: "xds:///127.0.0.1:50504"},
		{addr: "[::1]:50504", want: "xds:///[::1]:50504"},
		{addr: "under_score.ns:1", want: "xds:///under_score.ns:1"},
	} {
		got, err := xds.Target(tc.addr)
		require.NoError(t, err)
		assert.Equal(t, tc.want, got, "Target(%q)", tc.addr)
	}
}

func TestDialBadBootstrap(t *testing.T) {
	tests := []struct {
		name     string
		strategy xds.Strategy
		wantErr  string
	}{
		{
			name:     "malformed explicit bootstrap",
			strategy: xds.Strategy{Bootstrap: []byte(`{"xds_servers": [{"server_uri": `), Env: envOf(nil)},
			wantErr:  "xds: dial " + svcAddr + ": explicit bootstrap: xdsbootstrap: malformed bootstrap json",
		},
		{
			name:     "GRPC_XDS_BOOTSTRAP_CONFIG without xds_servers",
			strategy: xds.Strategy{Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP_CONFIG": noServers})},
			wantErr:  "xds: dial " + svcAddr + ": GRPC_XDS_BOOTSTRAP_CONFIG: xdsbootstrap: no xds_servers",
		},
		{
			name:     "server without channel_creds",
			strategy: xds.Strategy{Bootstrap: []byte(`{"xds_servers":[{"server_uri":"127.0.0.1:1"}]}`), Env: envOf(nil)},
			wantErr:  "missing channel_creds",
		},
		{
			name:     "unsupported channel_creds",
			strategy: xds.Strategy{Bootstrap: []byte(`{"xds_servers":[{"server_uri":"127.0.0.1:1","channel_creds":[{"type":"kerberos"}]}]}`), Env: envOf(nil)},
			wantErr:  "no supported channel_creds type in [kerberos]",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			conn, err := tc.strategy.Dial(svcAddr)
			if err == nil {
				conn.Close()
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}

func TestDialExplicitBootstrap(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 3)
	srv := xdstest.NewServer(t)
	setEndpoints(srv)(t, bs)
	conn := dial(t, xds.Strategy{Bootstrap: srv.Bootstrap("explicit-node"), Env: envOf(nil)})
	waitAll(t, ctx, conn, bs)
	assert.Contains(t, srv.Nodes(), "explicit-node", "node ids seen by istiod")
}

// TestDialComposedIdentity checks the node that reaches istiod from a
// composed bootstrap, with and without the downward-API variables.
func TestDialComposedIdentity(t *testing.T) {
	shape := regexp.MustCompile(`^sidecar~[0-9a-f.:]+~[^.~]+\.[^.~]+~[^.~]+\.svc\.cluster\.local$`)
	withVersion := map[string]string{"POD_NAME": "frontend-0", "POD_NAMESPACE": "game", "INSTANCE_IP": "127.0.0.1", "ISTIO_VERSION": "1.28.1"}
	for _, tc := range []struct {
		name        string
		env         map[string]string
		wantID      string
		wantNS      string
		wantIPs     string
		wantVersion string
	}{
		{name: "downward api", env: podEnv, wantID: "sidecar~127.0.0.1~frontend-0.game~game.svc.cluster.local", wantNS: "game", wantIPs: "127.0.0.1", wantVersion: "meshmatch"},
		{name: "ISTIO_VERSION set", env: withVersion, wantIPs: "127.0.0.1", wantVersion: "1.28.1"},
		{name: "no pod env", wantVersion: "meshmatch"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			bs := balancertest.StartBackends(t, 1)
			srv := xdstest.NewServer(t)
			setEndpoints(srv)(t, bs)
			conn := dial(t, xds.Strategy{IstiodAddr: srv.Addr(), Env: envOf(tc.env), CertDir: t.TempDir()})
			waitAll(t, ctx, conn, bs)
			nodes := srv.Nodes()
			require.Len(t, nodes, 1, "nodes seen by istiod")
			for id, n := range nodes {
				assert.Regexp(t, shape, id)
				if tc.wantID != "" {
					assert.Equal(t, tc.wantID, id)
				}
				md := n.GetMetadata().GetFields()
				assert.Equal(t, "grpc", md["GENERATOR"].GetStringValue(), "GENERATOR metadata")
				assert.NotEmpty(t, md["NAMESPACE"].GetStringValue(), "NAMESPACE metadata")
				if tc.wantNS != "" {
					assert.Equal(t, tc.wantNS, md["NAMESPACE"].GetStringValue())
				}
				if tc.wantIPs != "" {
					assert.Equal(t, tc.wantIPs, md["INSTANCE_IPS"].GetStringValue(), "INSTANCE_IPS metadata")
				}
				assert.Equal(t, tc.wantVersion, md["ISTIO_VERSION"].GetStringValue(), "ISTIO_VERSION metadata (istiod warns without it)")
			}
		})
	}
}

// TestDialBootstrapFileLate dials before the Istio agent has written the
// bootstrap file: calls wait, then work once the file is there.
func TestDialBootstrapFileLate(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 2)
	srv := xdstest.NewServer(t)
	setEndpoints(srv)(t, bs)
	dir := t.TempDir()
	path := filepath.Join(dir, "bootstrap.json")
	conn := dial(t, xds.Strategy{Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP": path})})
	written := srv.WriteBootstrap(t, t.TempDir())
	require.NoError(t, os.Rename(written, path))
	waitAll(t, ctx, conn, bs)
}

// TestDialBootstrapFileNever: the bounded wait ends with a clear error on
// calls; the connection still recovers if the file appears later.
func TestDialBootstrapFileNever(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 1)
	srv := xdstest.NewServer(t)
	setEndpoints(srv)(t, bs)
	path := filepath.Join(t.TempDir(), "bootstrap.json")
	conn := dial(t, xds.Strategy{BootstrapWait: 50 * time.Millisecond, Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP": path})})

	_, err := getTicket(ctx, conn)
	assert.Equal(t, codes.Unavailable, status.Code(err), "GetTicket() = %v, want code Unavailable", err)
	assert.ErrorContains(t, err, "xds: GRPC_XDS_BOOTSTRAP="+path+": no usable bootstrap after 50ms")
	assert.ErrorContains(t, err, path)

	written := srv.WriteBootstrap(t, t.TempDir())
	require.NoError(t, os.Rename(written, path))
	waitAll(t, ctx, conn, bs)
}

// TestIstiodOutage: once configuration has arrived, calls keep working
// while istiod is down, and updates flow again after it comes back.
func TestIstiodOutage(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 3)
	srv := xdstest.NewServer(t)
	set := setEndpoints(srv)
	set(t, bs[:2])
	conn := dial(t, istiodStrategy(t, srv))
	waitAll(t, ctx, conn, bs[:2])

	srv.Stop()
	for i := range 100 {
		_, err := getTicket(ctx, conn)
		require.NoError(t, err, "call %d while istiod is down", i)
	}

	require.NoError(t, srv.Restart())
	set(t, bs)
	waitAll(t, ctx, conn, bs)
}
