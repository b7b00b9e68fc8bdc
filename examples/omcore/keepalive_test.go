package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// idleHold is how long the client stays idle: four pings of a client pinging
// every 10 s. grpc-go's default enforcement (5 min, no pings without streams)
// answers the third with GOAWAY "too_many_pings" (measured: at 30 s against
// the core before it set Open-Match's policy). 10 s is the shortest interval
// grpc-go's client allows and the shortest Open-Match's policy accepts, and
// no fake clock reaches grpc-go's keepalive timers, so this is the one real
// wait of the suite.
const idleHold = 40 * time.Second

// Item 1: a client with Open-Match's keepalive settings (pinging without
// streams, every 10 s here rather than 20 s to keep the wait short) held
// idle past several ping intervals is not sent GOAWAY.
func TestOpenMatchKeepaliveClientStaysConnected(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), idleHold+20*time.Second)
	defer cancel()
	s, stop := startCore(ctx, t, loopbackFlags...)
	defer stop()

	conn, err := grpc.NewClient(s.FrontendAddr(),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithKeepaliveParams(keepalive.ClientParameters{Time: 10 * time.Second, Timeout: 10 * time.Second, PermitWithoutStream: true}))
	require.NoError(t, err)
	defer conn.Close()
	fe := pb.NewFrontendServiceClient(conn)
	_, err = fe.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
	// grpc-go installs the READY picker before it publishes READY, so a call
	// can return while GetState still says CONNECTING: wait for the change.
	for st := conn.GetState(); st != connectivity.Ready; st = conn.GetState() {
		require.True(t, conn.WaitForStateChange(ctx, st), "state %v after a served call, want READY before the deadline", st)
	}

	idle, cancelIdle := context.WithTimeout(ctx, idleHold)
	defer cancelIdle()
	changed := conn.WaitForStateChange(idle, connectivity.Ready)
	assert.False(t, changed, "connection left READY (now %v) while idle: GOAWAY too_many_pings?", conn.GetState())
	_, err = fe.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	assert.NoError(t, err, "a call after the idle period")
}
