package omclient_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/faulttest"
)

// idleWindow is how long the keepalive test watches an idle connection. A
// client pinging every second, as WithKeepalive(Time: 1s) asks for, would
// ping within it; grpc-go raises Time to 10 s, so none may arrive.
const idleWindow = 1500 * time.Millisecond

// TestFaultKeepaliveDefaults: the Conn's keepalive respects the policy
// Open-Match servers enforce.
func TestFaultKeepaliveDefaults(t *testing.T) {
	ka, pol := omclient.DefaultKeepalive(), omclient.KeepaliveEnforcement()
	assert.GreaterOrEqual(t, ka.Time, pol.MinTime, "DefaultKeepalive.Time = %v, want >= KeepaliveEnforcement.MinTime %v", ka.Time, pol.MinTime)
	assert.GreaterOrEqual(t, ka.Time, 10*time.Second, "DefaultKeepalive.Time = %v, want >= 10s", ka.Time)
	assert.True(t, !ka.PermitWithoutStream || pol.PermitWithoutStream,
		"DefaultKeepalive pings without streams, KeepaliveEnforcement.PermitWithoutStream = false")
}

// TestFaultKeepalive runs calls and idle watches against a server enforcing
// Open-Match's keepalive policy, watching the HTTP/2 frames: the server sends
// no GOAWAY, and an idle connection sends no keepalive ping within
// idleWindow, even when the client asks for a 1 s ping interval.
func TestFaultKeepalive(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		opts []omclient.Option
	}{
		{name: "default"},
		{name: "WithKeepalive Time 1s", opts: []omclient.Option{
			omclient.WithKeepalive(keepalive.ClientParameters{Time: time.Second, Timeout: time.Second, PermitWithoutStream: true}),
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ctx := testContext(t)
			lis, err := net.Listen("tcp", "127.0.0.1:0")
			require.NoError(t, err)
			frames := faulttest.WatchFrames(lis)
			fe := newScriptedFrontend()
			gs := grpc.NewServer(grpc.KeepaliveEnforcementPolicy(omclient.KeepaliveEnforcement()))
			pb.RegisterFrontendServiceServer(gs, fe)
			served := make(chan struct{})
			go func() {
				defer close(served)
				_ = gs.Serve(frames)
			}()
			defer func() {
				gs.Stop()
				<-served
			}()
			c := faultConn(t, balancer.Static{Addrs: []string{lis.Addr().String()}}, lis.Addr().String(), tc.opts...)
			client := omclient.NewFrontend(c)

			for i := range 50 {
				_, err := client.GetTicket(ctx, "t")
				require.NoError(t, err, "GetTicket() call %d", i)
			}
			wctx, stop := context.WithCancel(ctx)
			ended := make(chan struct{}, 2)
			for _, id := range []string{"w1", "w2"} {
				go func() {
					defer func() { ended <- struct{}{} }()
					for range client.WatchAssignments(wctx, id) {
					}
				}()
			}
			waitWatch(t, fe)
			waitWatch(t, fe)
			pings := frames.ClientPings()
			// grpc-go pings after data arrives to size its flow-control
			// window; these pings come faster than MinTime, and the server
			// must not count them as strikes.
			assert.Positive(t, pings, "client PING frames during the calls")

			window, cancel := context.WithTimeout(ctx, idleWindow)
			err = frames.WaitGoAways(window, 1)
			cancel()
			assert.Error(t, err, "GOAWAY frames within %v of idle watches: %v", idleWindow, frames.GoAways())
			assert.Equal(t, pings, frames.ClientPings(), "client PING frames during %v of idle watches", idleWindow)
			assert.Empty(t, frames.GoAways(), "GOAWAY frames the server sent")

			// The server's graceful stop sends a GOAWAY, so the frame watch
			// would have seen one.
			stop()
			<-ended
			<-ended
			stopped := make(chan struct{})
			go func() {
				defer close(stopped)
				gs.GracefulStop()
			}()
			require.NoError(t, frames.WaitGoAways(ctx, 1), "GOAWAY of a graceful stop")
			assert.Equal(t, faulttest.GoAway{Code: 0, Debug: "graceful_stop"}, frames.GoAways()[0], "GOAWAY of a graceful stop")
			require.NoError(t, c.Close())
			<-stopped
		})
	}
}

// TestKeepaliveDefaultsAreCopies: changing what DefaultKeepalive or
// KeepaliveEnforcement returned changes nothing for the next caller.
func TestKeepaliveDefaultsAreCopies(t *testing.T) {
	ka, pol := omclient.DefaultKeepalive(), omclient.KeepaliveEnforcement()
	ka.Time, pol.MinTime = time.Second, time.Second
	assert.Equal(t, 20*time.Second, omclient.DefaultKeepalive().Time, "DefaultKeepalive().Time after a caller changed its copy")
	assert.Equal(t, 10*time.Second, omclient.KeepaliveEnforcement().MinTime, "KeepaliveEnforcement().MinTime after a caller changed its copy")
}
