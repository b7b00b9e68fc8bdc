package xds_test

import (
	"context"
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

// shortCall calls GetTicket with a deadline of d within the test context.
func shortCall(t *testing.T, conn grpc.ClientConnInterface, d time.Duration) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(testContext(t), d)
	defer cancel()
	_, err := getTicket(ctx, conn)
	return err
}

// TestNoListenerSaysSo: istiod serves no Listener for the name dialed (a
// service outside the mesh, a short name). grpc-go holds calls until their
// deadline; the error must say that istiod sent nothing for the name, keep
// the code, and name the xDS server.
func TestNoListenerSaysSo(t *testing.T) {
	srv := xdstest.NewServer(t)
	require.NoError(t, srv.SetEndpoints("other.open-match.svc.cluster.local", svcPort, "127.0.0.1"))
	s := xds.Strategy{Bootstrap: srv.Bootstrap("no-listener"), Env: envOf(nil)}
	// Auto holds calls for its gate while the one strategy connects, then
	// lets them through to it.
	forced, err := balancer.Auto{Strategies: []balancer.Strategy{s}, Gate: time.Millisecond}.Dial(svcAddr)
	require.NoError(t, err)
	t.Cleanup(func() { forced.Close() })
	for name, conn := range map[string]grpc.ClientConnInterface{"strategy": dial(t, s), "forced auto": forced} {
		err := shortCall(t, conn, 500*time.Millisecond)
		assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "%s: GetTicket() = %v, want code DeadlineExceeded", name, err)
		assert.ErrorContains(t, err, `no Listener (or no complete configuration) for "`+svcAddr+`" from xDS server `+srv.Addr(), name)
	}
}

// TestConfiguredDeadlineNotBlamedOnIstiod: istiod sent the configuration
// but the only backend left never answers; a call that times out must not
// blame a missing Listener.
func TestConfiguredDeadlineNotBlamedOnIstiod(t *testing.T) {
	ctx := testContext(t)
	bs := balancertest.StartBackends(t, 1)
	srv := xdstest.NewServer(t)
	setEndpoints(srv)(t, bs)
	conn := dial(t, xds.Strategy{Bootstrap: srv.Bootstrap("configured"), Env: envOf(nil)})
	waitAll(t, ctx, conn, bs)
	require.NoError(t, srv.SetEndpoints(svcHost, svcPort, silentListener(t)))
	for {
		err := shortCall(t, conn, 200*time.Millisecond)
		if status.Code(err) == codes.DeadlineExceeded {
			assert.NotContains(t, err.Error(), "no Listener", "GetTicket() error with the configuration in place")
			return
		}
		require.NoError(t, ctx.Err(), "calls still reach the old backend at the test deadline; last error %v", err)
	}
}

// TestNoEndpointsNamesTheService: the configuration has the service's
// cluster but no endpoint in it (istiod's answer for a Service with no
// ready pods); grpc-go's own error ("weighted-target: no targets to pick
// from") does not say which service, so the strategy's does, keeping the
// code.
func TestNoEndpointsNamesTheService(t *testing.T) {
	srv := xdstest.NewServer(t)
	require.NoError(t, srv.SetEndpoints(svcHost, svcPort))
	conn := dial(t, xds.Strategy{Bootstrap: srv.Bootstrap("no-endpoints"), Env: envOf(nil)})
	err := shortCall(t, conn, 2*time.Second)
	assert.Equal(t, codes.Unavailable, status.Code(err), "GetTicket() = %v, want code Unavailable", err)
	assert.ErrorContains(t, err, `no ready endpoint for "`+svcAddr+`" in the configuration from xDS server `+srv.Addr())
}
