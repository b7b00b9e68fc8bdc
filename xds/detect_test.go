package xds_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

const noServers = `{"node":{"id":"sidecar~127.0.0.1~a.b~b.svc.cluster.local"}}`

// silentListener accepts connections on loopback and never answers them.
func silentListener(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	done := make(chan struct{})
	var conns []net.Conn
	go func() {
		defer close(done)
		for {
			c, err := lis.Accept()
			if err != nil {
				for _, c := range conns {
					c.Close()
				}
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		lis.Close()
		<-done
	})
	return lis.Addr().String()
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t testing.TB) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := lis.Addr().String()
	require.NoError(t, lis.Close())
	return addr
}

func TestDetect(t *testing.T) {
	srv := xdstest.NewServer(t)
	dir := t.TempDir()
	file := srv.WriteBootstrap(t, dir)
	missing := filepath.Join(dir, "missing.json")
	tests := []struct {
		name       string
		strategy   xds.Strategy
		wantAvail  bool
		wantReason string
	}{
		{
			name:       "explicit bootstrap",
			strategy:   xds.Strategy{Bootstrap: srv.Bootstrap("n"), Env: envOf(nil)},
			wantAvail:  true,
			wantReason: "explicit bootstrap set",
		},
		{
			name:       "explicit malformed bootstrap",
			strategy:   xds.Strategy{Bootstrap: []byte(`{"xds_servers": [`), Env: envOf(nil)},
			wantReason: "malformed bootstrap json",
		},
		{
			name:       "GRPC_XDS_BOOTSTRAP_CONFIG",
			strategy:   xds.Strategy{Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP_CONFIG": string(srv.Bootstrap("n"))})},
			wantAvail:  true,
			wantReason: "GRPC_XDS_BOOTSTRAP_CONFIG set",
		},
		{
			name:       "GRPC_XDS_BOOTSTRAP_CONFIG without xds_servers",
			strategy:   xds.Strategy{Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP_CONFIG": noServers})},
			wantReason: "no xds_servers",
		},
		{
			name:       "GRPC_XDS_BOOTSTRAP file",
			strategy:   xds.Strategy{Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP": file})},
			wantAvail:  true,
			wantReason: "GRPC_XDS_BOOTSTRAP=" + file + " read",
		},
		{
			name:       "GRPC_XDS_BOOTSTRAP file never appears",
			strategy:   xds.Strategy{BootstrapWait: 50 * time.Millisecond, Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP": missing})},
			wantReason: "not usable within 50ms: xdsbootstrap: waiting for " + missing + ": context deadline exceeded: file does not exist",
		},
		{
			name:       "istiod answers",
			strategy:   xds.Strategy{IstiodAddr: srv.Addr(), Env: envOf(nil)},
			wantAvail:  true,
			wantReason: "istiod answered at " + srv.Addr(),
		},
		{
			name:       "pod identity unusable in a node id",
			strategy:   xds.Strategy{IstiodAddr: srv.Addr(), Env: envOf(map[string]string{"POD_NAME": "a~b", "POD_NAMESPACE": "game"})},
			wantReason: "none can be composed for istiod: xdsbootstrap: compose: pod name",
		},
		{
			name:       "istiod accepts but never answers",
			strategy:   xds.Strategy{IstiodAddr: silentListener(t), ProbeTimeout: 200 * time.Millisecond, Env: envOf(nil)},
			wantReason: "no http/2 answer",
		},
		{
			name:       "default istiod outside a pod",
			strategy:   xds.Strategy{Env: envOf(nil)},
			wantReason: "not in a Kubernetes pod (KUBERNETES_SERVICE_HOST unset)",
		},
		{
			name:       "istiod unreachable",
			strategy:   xds.Strategy{IstiodAddr: closedPort(t), Env: envOf(nil)},
			wantReason: "connection refused",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.strategy.Detect(testContext(t), svcAddr)
			assert.Equal(t, "xds", got.Strategy)
			assert.Equal(t, tc.wantAvail, got.Available, "Detect().Available (reason %q)", got.Reason)
			assert.Contains(t, got.Reason, tc.wantReason)
			assert.False(t, got.At.IsZero(), "Detect().At is zero")
		})
	}
}

func TestDetectFileWrittenWhileWaiting(t *testing.T) {
	srv := xdstest.NewServer(t)
	path := filepath.Join(t.TempDir(), "bootstrap.json")
	s := xds.Strategy{Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP": path})}
	done := make(chan bool, 1)
	go func() { done <- s.Detect(testContext(t), svcAddr).Available }()
	tmp := path + ".tmp"
	require.NoError(t, os.WriteFile(tmp, srv.Bootstrap(xdstest.DefaultNodeID), 0o600))
	require.NoError(t, os.Rename(tmp, path))
	assert.True(t, <-done, "Detect().Available after the agent wrote the file")
}

func TestDetectSilentIstiodKeepsCallerDeadline(t *testing.T) {
	s := xds.Strategy{IstiodAddr: silentListener(t), ProbeTimeout: time.Hour, Env: envOf(nil)}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	done := make(chan balancer.Detection, 1)
	go func() { done <- s.Detect(ctx, svcAddr) }()
	guard := time.NewTimer(testTimeout)
	defer guard.Stop()
	select {
	case got := <-done:
		assert.False(t, got.Available, "Detect().Available for an address that never answers")
		assert.Contains(t, got.Reason, "context deadline exceeded")
	case <-guard.C:
		t.Fatalf("Detect() with a 200ms deadline and a silent istiod did not return within %v", testTimeout)
	}
}
