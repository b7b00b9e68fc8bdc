package xds_test

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// badBootstraps are files a connection cannot use: some fail meshmatch's
// checks, the last passes them and is rejected by grpc-go when it builds
// its xDS client.
var badBootstraps = []struct {
	name, json string
	// grpcOnly: only grpc-go's xDS client finds the fault, so Detect, which
	// builds none, reports the file usable.
	grpcOnly bool
}{
	{name: "malformed", json: `{"xds_servers": [`},
	{name: "unsupported channel creds", json: `{"xds_servers":[{"server_uri":"127.0.0.1:1","channel_creds":[{"type":"kerberos"}]}]}`},
	{name: "authorities of the wrong type", json: `{"xds_servers":[{"server_uri":"127.0.0.1:1","channel_creds":[{"type":"insecure"}]}],"authorities":5}`},
	{name: "bad file_watcher config", json: `{"xds_servers":[{"server_uri":"127.0.0.1:1","channel_creds":[{"type":"insecure"}]}],` +
		`"certificate_providers":{"default":{"plugin_name":"file_watcher","config":{"refresh_interval":"soon"}}}}`},
	{name: "rejected by grpc-go", json: `{"xds_servers":[{"server_uri":"127.0.0.1:1","channel_creds":[{"type":"tls","config":{"ca_certificate_file":5}}]}]}`, grpcOnly: true},
}

// rewrite replaces the file at path the way Istio's agent does: a new file
// renamed over the old one.
func rewrite(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, b, 0o600))
	require.NoError(t, os.Rename(tmp, path))
}

// TestInvalidBootstrapFileReadAgain: a connection dialed while the file is
// unusable reports an error naming the file, and works once the Istio agent
// rewrites it; Detect reads the file again each time.
func TestInvalidBootstrapFileReadAgain(t *testing.T) {
	for _, tc := range badBootstraps {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			bs := balancertest.StartBackends(t, 2)
			srv := xdstest.NewServer(t)
			setEndpoints(srv)(t, bs)
			path := filepath.Join(t.TempDir(), "grpc-bootstrap.json")
			rewrite(t, path, []byte(tc.json))
			s := xds.Strategy{BootstrapWait: 50 * time.Millisecond, Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP": path})}

			if d := s.Detect(ctx, svcAddr); !tc.grpcOnly {
				assert.False(t, d.Available, "Detect().Available with a %s file (reason %q)", tc.name, d.Reason)
				assert.Contains(t, d.Reason, path)
			}
			conn := dial(t, s)
			_, err := getTicket(ctx, conn, grpc.WaitForReady(false))
			assert.Equal(t, codes.Unavailable, status.Code(err), "GetTicket() = %v, want code Unavailable", err)
			assert.ErrorContains(t, err, path, "GetTicket() error names the file")

			rewrite(t, path, srv.Bootstrap("rewritten"))
			assert.True(t, s.Detect(ctx, svcAddr).Available, "Detect().Available after the rewrite")
			waitAll(t, ctx, conn, bs)
		})
	}
}

// TestTypoedBootstrapPath: GRPC_XDS_BOOTSTRAP names a file in a directory
// that does not exist. Nothing waits for it: Detect says so at once, Dial
// fails, and a call through a forced xds strategy fails with the path.
func TestTypoedBootstrapPath(t *testing.T) {
	ctx := testContext(t)
	path := filepath.Join(t.TempDir(), "proxi", "grpc-bootstrap.json")
	s := xds.Strategy{BootstrapWait: time.Hour, Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP": path})}
	want := "GRPC_XDS_BOOTSTRAP=" + path + ": xdsbootstrap: directory " + filepath.Dir(path) + " does not exist"

	d := s.Detect(ctx, svcAddr)
	assert.False(t, d.Available, "Detect().Available")
	assert.Contains(t, d.Reason, want)
	_, err := s.Dial(svcAddr)
	assert.ErrorContains(t, err, want, "Dial()")

	forced, err := balancer.Auto{Strategies: []balancer.Strategy{s}, DetectTimeout: time.Hour}.Dial(svcAddr)
	require.NoError(t, err)
	t.Cleanup(func() { forced.Close() })
	_, err = getTicket(ctx, forced)
	assert.NotEqual(t, codes.DeadlineExceeded, status.Code(err), "GetTicket() through forced xds = %v; it waited for the test deadline", err)
	assert.ErrorContains(t, err, want, "GetTicket() through forced xds")
}
