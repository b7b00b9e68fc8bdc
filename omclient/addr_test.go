package omclient_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// TestAddrWithScheme: a URL instead of host:port says so, instead of the
// parser's "too many colons".
func TestAddrWithScheme(t *testing.T) {
	for _, addr := range []string{"http://open-match-frontend:50504", "dns:///open-match-frontend:50504"} {
		c, err := omclient.NewConn(addr)
		require.Error(t, err, "NewConn(%q)", addr)
		assert.Nil(t, c, "NewConn(%q)", addr)
		assert.ErrorContains(t, err, "want host:port without a", "NewConn(%q)", addr)
		assert.NotContains(t, err.Error(), "too many colons", "NewConn(%q)", addr)
		_, err = omclient.DialFrontend(addr)
		assert.ErrorContains(t, err, "want host:port without a", "DialFrontend(%q)", addr)
	}
}

// TestDialDefaultOutsideCluster: Dial*("") outside a cluster (no
// KUBERNETES_SERVICE_HOST) dials the in-cluster default, and a call that
// cannot reach it names the MESHMATCH_*_ADDR variable to set; an explicit
// address or a pod's environment gets no hint. The static strategy points
// at a closed loopback port, so no name is ever resolved.
func TestDialDefaultOutsideCluster(t *testing.T) {
	refused := omclient.WithStrategy(balancer.Static{Addrs: []string{closedPort(t)}})
	t.Setenv("MESHMATCH_FRONTEND_ADDR", "")
	t.Setenv("MESHMATCH_QUERY_ADDR", "")
	short := func(t *testing.T) context.Context {
		ctx, cancel := context.WithTimeout(testContext(t), shortWait)
		t.Cleanup(cancel)
		return ctx
	}
	t.Run("frontend, default", func(t *testing.T) {
		t.Setenv("KUBERNETES_SERVICE_HOST", "")
		fe, err := omclient.DialFrontend("", refused)
		require.NoError(t, err, "DialFrontend(\"\")")
		defer fe.Close()
		_, err = fe.GetTicket(short(t), "t")
		assert.Contains(t, []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, status.Code(err), "GetTicket() = %v", err)
		assert.ErrorContains(t, err, "set MESHMATCH_FRONTEND_ADDR")
	})
	t.Run("query stream, default", func(t *testing.T) {
		t.Setenv("KUBERNETES_SERVICE_HOST", "")
		q, err := omclient.DialQuery("", refused)
		require.NoError(t, err, "DialQuery(\"\")")
		defer q.Close()
		_, err = q.QueryTickets(short(t), &pb.Pool{Name: "all"})
		assert.ErrorContains(t, err, "set MESHMATCH_QUERY_ADDR")
	})
	t.Run("in a pod", func(t *testing.T) {
		t.Setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
		fe, err := omclient.DialFrontend("", refused)
		require.NoError(t, err, "DialFrontend(\"\")")
		defer fe.Close()
		_, err = fe.GetTicket(short(t), "t")
		require.Error(t, err, "GetTicket()")
		assert.NotContains(t, err.Error(), "MESHMATCH_FRONTEND_ADDR", "GetTicket() error in a pod")
	})
	t.Run("explicit address", func(t *testing.T) {
		t.Setenv("KUBERNETES_SERVICE_HOST", "")
		fe, err := omclient.DialFrontend("open-match-frontend.example.test:50504", refused)
		require.NoError(t, err, "DialFrontend()")
		defer fe.Close()
		_, err = fe.GetTicket(short(t), "t")
		require.Error(t, err, "GetTicket()")
		assert.NotContains(t, err.Error(), "MESHMATCH_FRONTEND_ADDR", "GetTicket() error with an explicit address")
	})
}

// TestDecisionForcedByEnv: a strategy forced by $MESHMATCH_STRATEGY says so
// in Decision, reachable from the typed client Dial* returns; one set with
// WithStrategy says that instead.
func TestDecisionForcedByEnv(t *testing.T) {
	_, srv := startFrontend(t)
	t.Setenv("MESHMATCH_STRATEGY", "headless")
	fe, err := omclient.DialFrontend(srv.addr)
	require.NoError(t, err, "DialFrontend()")
	defer fe.Close()
	d := fe.Decision()
	assert.Equal(t, "headless", d.Strategy, "Frontend.Decision().Strategy")
	assert.Equal(t, "forced by MESHMATCH_STRATEGY=headless", d.Reason, "Frontend.Decision().Reason")

	be, err := omclient.DialBackend(srv.addr, omclient.WithStrategy(balancer.Static{Addrs: []string{srv.addr}}))
	require.NoError(t, err, "DialBackend()")
	defer be.Close()
	assert.Equal(t, balancer.Decision{Strategy: "static", Reason: "set by WithStrategy"}, be.Decision(), "Backend.Decision()")

	q := omclient.NewQuery(rawConn(t, srv.addr))
	assert.Empty(t, q.Decision().Strategy, "Decision() of a Query over a grpc.ClientConn")
}
