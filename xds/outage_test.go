package xds_test

import (
	"testing"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/connectivity"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// waitState waits until conn is in want, or fails t at the test deadline.
func waitState(t *testing.T, conn balancer.Conn, want connectivity.State) {
	t.Helper()
	ctx := testContext(t)
	conn.Connect()
	for st := conn.GetState(); st != want; st = conn.GetState() {
		require.True(t, conn.WaitForStateChange(ctx, st), "state %v, want %v before the test deadline", st, want)
	}
}

// TestRedialAfterIstiodOutage: a connection dialed while istiod is down
// ends in TRANSIENT_FAILURE and then waits out grpc-go's reconnect backoff.
// Auto dials the strategy again once istiod is back; that connection must
// start from scratch (its own xDS client, the bootstrap read again) and
// keep working when the failed one is closed.
func TestRedialAfterIstiodOutage(t *testing.T) {
	for _, tc := range []struct {
		name     string
		strategy func(*testing.T, *xdstest.Server) xds.Strategy
	}{
		{name: "bootstrap file", strategy: func(t *testing.T, srv *xdstest.Server) xds.Strategy {
			return xds.Strategy{Env: envOf(map[string]string{"GRPC_XDS_BOOTSTRAP": srv.WriteBootstrap(t, t.TempDir())})}
		}},
		{name: "composed bootstrap", strategy: func(t *testing.T, srv *xdstest.Server) xds.Strategy { return istiodStrategy(t, srv) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			bs := balancertest.StartBackends(t, 2)
			srv := xdstest.NewServer(t)
			setEndpoints(srv)(t, bs)
			s := tc.strategy(t, srv)
			srv.Stop()
			failed := dial(t, s)
			waitState(t, failed, connectivity.TransientFailure)

			require.NoError(t, srv.Restart())
			again := dial(t, s)
			waitAll(t, ctx, again, bs)
			require.NoError(t, failed.Close())
			for i := range 20 {
				_, err := getTicket(ctx, again)
				require.NoError(t, err, "call %d after the failed connection was closed", i)
			}
		})
	}
}
