package omclient_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
)

// sidecarSetup serves one backend under faultHost and returns a fake Istio
// agent, a Sidecar strategy probing it, a Headless strategy, and the logical
// address.
func sidecarSetup(t *testing.T) (*balancertest.Backend, *istiotest.Agent, balancer.Sidecar, balancer.Headless, string) {
	t.Helper()
	bs := balancertest.StartBackends(t, 1)
	dns := dnstest.NewServer(t)
	dns.Set(faultHost, ipOf(bs[0]))
	agent := istiotest.NewAgent(t)
	sc := balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: agent.Addr(), DNS: balancer.DNS{Server: dns.Addr(), RefreshInterval: faultRefresh}}
	hl := balancer.Headless{DNS: balancer.DNS{Server: dns.Addr(), RefreshInterval: faultRefresh}}
	_, port, _ := net.SplitHostPort(bs[0].Addr)
	return bs[0], agent, sc, hl, net.JoinHostPort(faultHost, port)
}

// TestFaultSidecar: calls wait for a sidecar that is not ready yet and go
// ahead once it is; Auto moves up to a sidecar that became ready after its
// first detection; a sidecar that goes unready later is not probed again,
// so calls carry on.
func TestFaultSidecar(t *testing.T) {
	t.Parallel()
	t.Run("not ready at start then ready/forced", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		b, agent, sc, _, addr := sidecarSetup(t)
		agent.SetReady(false)
		fe := omclient.NewFrontend(faultConn(t, sc, addr))

		short, cancel := context.WithTimeout(ctx, shortWait)
		defer cancel()
		_, err := fe.GetTicket(short, "t")
		assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "GetTicket() before the sidecar is ready = %v, want code DeadlineExceeded", err)
		assert.ErrorContains(t, err, "waiting for the sidecar to be ready")
		assert.Zero(t, b.Calls(), "calls the backend served before the sidecar was ready")

		agent.SetReady(true)
		_, err = fe.GetTicket(ctx, "t")
		require.NoError(t, err, "GetTicket() once the sidecar is ready")
	})
	t.Run("not ready at start then ready/auto", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		_, agent, sc, hl, addr := sidecarSetup(t)
		agent.SetReady(false)
		c := faultConn(t, balancer.Auto{Strategies: []balancer.Strategy{sc, hl}, Gate: faultGate, DetectTimeout: testTimeout}, addr)
		fe := omclient.NewFrontend(c)

		done := make(chan error, 1)
		go func() {
			_, err := fe.GetTicket(ctx, "t")
			done <- err
		}()
		require.NoError(t, agent.WaitRequests(ctx, 2), "readiness probes while not ready")
		agent.SetReady(true)
		require.NoError(t, <-done, "GetTicket() once the sidecar is ready")
		assert.Equal(t, "sidecar", c.Decision().Strategy, "Decision().Strategy")
	})
	t.Run("not ready within DetectTimeout/auto moves up once ready", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		_, agent, sc, hl, addr := sidecarSetup(t)
		agent.SetReady(false)
		c := faultConn(t, balancer.Auto{Strategies: []balancer.Strategy{sc, hl}, Gate: faultGate, DetectTimeout: shortWait, RedetectInterval: faultGate}, addr)
		fe := omclient.NewFrontend(c)

		_, err := fe.GetTicket(ctx, "t")
		require.NoError(t, err, "GetTicket() with the sidecar never ready within DetectTimeout")
		require.Equal(t, "headless", c.Decision().Strategy, "Decision().Strategy")

		probes := agent.Requests()
		agent.SetReady(true)
		require.NoError(t, agent.WaitRequests(ctx, probes+1), "readiness probes after the decision")
		// The move has no event of its own: poll the decision under ctx.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for c.Decision().Strategy != "sidecar" {
			select {
			case <-tick.C:
			case <-ctx.Done():
				t.Fatalf("Decision() = %+v, want a move up to the sidecar", c.Decision())
			}
		}
		assert.Contains(t, c.Decision().Reason, "moving up from headless", "Decision().Reason")
		_, err = fe.GetTicket(ctx, "t")
		require.NoError(t, err, "GetTicket() through the sidecar")
	})
	for _, tc := range []struct {
		name string
		auto bool
	}{
		{name: "forced", auto: false},
		{name: "auto", auto: true},
	} {
		t.Run("going unready/"+tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			b, agent, sc, hl, addr := sidecarSetup(t)
			var s balancer.Strategy = sc
			if tc.auto {
				s = balancer.Auto{Strategies: []balancer.Strategy{sc, hl}, Gate: faultGate}
			}
			c := faultConn(t, s, addr)
			fe := omclient.NewFrontend(c)
			_, err := fe.GetTicket(ctx, "t")
			require.NoError(t, err, "GetTicket() with the sidecar ready")

			agent.SetReady(false)
			probes, served := agent.Requests(), b.Calls()
			for i := range 20 {
				_, err := fe.GetTicket(ctx, "t")
				require.NoError(t, err, "GetTicket() call %d after the sidecar went unready", i)
			}
			assert.Equal(t, served+20, b.Calls(), "calls served after the sidecar went unready")
			assert.Equal(t, probes, agent.Requests(), "readiness probes after the sidecar went unready")
			assert.Equal(t, "sidecar", c.Decision().Strategy, "Decision().Strategy after the sidecar went unready")
		})
	}
}
