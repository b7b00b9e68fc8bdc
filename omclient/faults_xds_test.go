package omclient_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
)

// faultGate is the Auto gate of the istiod fault tests.
const faultGate = 200 * time.Millisecond

// maxCalls bounds the request loops that wait for a change, and callPace
// spaces their calls, so that a loop waits for events that take real time
// (an xDS reconnect) instead of using its count up at loopback speed.
const (
	maxCalls = 5000
	callPace = 2 * time.Millisecond
)

// meshBackends serves bs under faultHost both through a fake istiod and a
// DNS server, and returns istiod, the logical address and an Auto chain of
// xds then headless.
func meshBackends(t *testing.T, bs []*balancertest.Backend) (*xdstest.Server, string, balancer.Auto) {
	t.Helper()
	_, portStr, _ := net.SplitHostPort(bs[0].Addr)
	port, _ := strconv.Atoi(portStr)
	istiod := xdstest.NewServer(t)
	setIstiodEndpoints(t, istiod, port, bs)
	dns := dnstest.NewServer(t)
	ips := make([]string, len(bs))
	for i, b := range bs {
		ips[i], _, _ = net.SplitHostPort(b.Addr)
	}
	dns.Set(faultHost, ips...)
	auto := balancer.Auto{
		Strategies: []balancer.Strategy{xdsStrategy(istiod), balancer.Headless{DNS: balancer.DNS{Server: dns.Addr(), RefreshInterval: faultRefresh}}},
		Gate:       faultGate,
	}
	return istiod, net.JoinHostPort(faultHost, portStr), auto
}

func setIstiodEndpoints(t *testing.T, istiod *xdstest.Server, port int, bs []*balancertest.Backend) {
	t.Helper()
	addrs := make([]string, len(bs))
	for i, b := range bs {
		addrs[i] = b.Addr
	}
	require.NoError(t, istiod.SetEndpoints(faultHost, port, addrs...), "SetEndpoints()")
}

// callUntil calls GetTicket until done reports true after a call, within
// maxCalls calls and ctx. It returns the last call's backend name.
func callUntil(t *testing.T, ctx context.Context, fe *omclient.Frontend, what string, done func(name string, err error) bool) {
	t.Helper()
	var last error
	tick := time.NewTicker(callPace)
	defer tick.Stop()
	for i := 0; i < maxCalls && ctx.Err() == nil; i++ {
		tk, err := fe.GetTicket(ctx, "t")
		if err != nil {
			last = err
		}
		if done(tk.GetId(), err) {
			return
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
		}
	}
	t.Fatalf("%s: not within %d calls or the test deadline (%v); last error %v", what, maxCalls, ctx.Err(), last)
}

// TestFaultIstiod: istiod down at start makes Auto fall back to headless
// within its gate and move back up to xds once istiod is back; istiod going
// down after configuration arrived changes nothing for calls.
func TestFaultIstiod(t *testing.T) {
	t.Parallel()
	t.Run("down at start then back", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		bs := balancertest.StartBackends(t, 2)
		istiod, addr, auto := meshBackends(t, bs)
		istiod.Stop()
		c := faultConn(t, auto, addr)
		fe := omclient.NewFrontend(c)

		_, err := fe.GetTicket(ctx, "t")
		require.NoError(t, err, "GetTicket() with istiod down")
		d := c.Decision()
		assert.Equal(t, "headless", d.Strategy, "Decision().Strategy with istiod down (reason %q)", d.Reason)

		require.NoError(t, istiod.Restart(), "istiod Restart()")
		back := time.Now()
		callUntil(t, ctx, fe, "Decision().Strategy = xds after istiod came back", func(_ string, err error) bool {
			require.NoError(t, err, "GetTicket() while istiod comes back")
			return c.Decision().Strategy == "xds"
		})
		t.Logf("back on xds %v after istiod restarted", time.Since(back).Round(time.Millisecond))
		assert.Contains(t, c.Decision().Reason, "moving up from headless", "Decision().Reason after istiod came back")
	})
	t.Run("down after configuration arrived", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		bs := balancertest.StartBackends(t, 3)
		istiod, addr, auto := meshBackends(t, bs[:2])
		c := faultConn(t, auto, addr)
		fe := omclient.NewFrontend(c)
		_, err := fe.GetTicket(ctx, "t")
		require.NoError(t, err, "GetTicket() with istiod up")
		require.Equal(t, "xds", c.Decision().Strategy, "Decision().Strategy with istiod up")

		istiod.Stop()
		for i := range 50 {
			tk, err := fe.GetTicket(ctx, "t")
			require.NoError(t, err, "GetTicket() call %d with istiod down", i)
			assert.NotEqual(t, bs[2].Name, tk.GetId(), "backend of call %d", i)
		}
		assert.Equal(t, "xds", c.Decision().Strategy, "Decision().Strategy after istiod went down")

		// Configuration flows again once istiod is back.
		_, portStr, _ := net.SplitHostPort(bs[0].Addr)
		port, _ := strconv.Atoi(portStr)
		setIstiodEndpoints(t, istiod, port, bs)
		require.NoError(t, istiod.Restart(), "istiod Restart()")
		callUntil(t, ctx, fe, "call served by the endpoint added while istiod was down", func(name string, err error) bool {
			require.NoError(t, err, "GetTicket() while istiod comes back")
			return name == bs[2].Name
		})
		assert.Equal(t, "xds", c.Decision().Strategy, "Decision().Strategy after istiod came back")
	})
}
