package omclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/faulttest"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// waitState waits until c is in state want.
func waitState(t *testing.T, ctx context.Context, c *omclient.Conn, want connectivity.State) {
	t.Helper()
	for c.State() != want {
		select {
		case <-ctx.Done():
			t.Fatalf("connection state %v, want %v: %v", c.State(), want, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// TestCreateTicketWaitsWhileUnreachable: while the only address of a
// connection refuses connections (a sidecar restarting, the one reachable
// replica coming back), CreateTicket waits for it instead of failing at
// once, and the core sees it exactly once. The soak found it: every
// CreateTicket during a sidecar restart failed with Unavailable although
// none had been sent.
func TestCreateTicketWaitsWhileUnreachable(t *testing.T) {
	ctx := testContext(t)
	rec := newRecorder()
	core := omtest.NewServer(t, omtest.WithServerOptions(rec.options()...))
	pod := faulttest.NewProxies(t, 1, core.Addr())[0]
	c := faultConn(t, balancer.Static{Addrs: []string{pod.Addr()}}, pod.Addr())
	fe := omclient.NewFrontend(c)
	_, err := fe.CreateTicket(ctx, &pb.Ticket{})
	require.NoError(t, err)

	pod.Stop()
	waitState(t, ctx, c, connectivity.TransientFailure)
	done := make(chan error, 1)
	go func() {
		_, err := fe.CreateTicket(ctx, &pb.Ticket{})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("CreateTicket() returned %v while no backend was reachable, want it to wait", err)
	case <-time.After(200 * time.Millisecond):
	}
	require.NoError(t, pod.Restart())
	select {
	case err := <-done:
		require.NoError(t, err, "CreateTicket() once the backend is back")
	case <-ctx.Done():
		t.Fatal("CreateTicket() still waiting after the backend came back")
	}
	assert.Equal(t, 2, rec.count("CreateTicket"), "CreateTicket calls the server saw")
}

// TestCreateTicketUnreachableBounded: with nothing to reach, the wait ends
// with the caller's deadline, or after the retry policy's MaxElapsed when
// there is none, and the call fails as before with Unavailable (or the
// deadline).
func TestCreateTicketUnreachableBounded(t *testing.T) {
	ctx := testContext(t)
	core := omtest.NewServer(t)
	pod := faulttest.NewProxies(t, 1, core.Addr())[0]
	c := faultConn(t, balancer.Static{Addrs: []string{pod.Addr()}}, pod.Addr(),
		omclient.WithRetryPolicy(omclient.RetryPolicy{MaxElapsed: 300 * time.Millisecond}))
	fe := omclient.NewFrontend(c)
	pod.Stop()
	// One plain call, without the SDK's retries (which would go on until
	// ctx's deadline): it makes the connection connect, and fails.
	_, _ = pb.NewFrontendServiceClient(c).GetTicket(ctx, &pb.GetTicketRequest{TicketId: "warm-up"})
	waitState(t, ctx, c, connectivity.TransientFailure)

	done := make(chan error, 1)
	go func() {
		_, err := fe.CreateTicket(context.Background(), &pb.Ticket{})
		done <- err
	}()
	select {
	case err := <-done:
		assert.Equal(t, codes.Unavailable, status.Code(err), "CreateTicket() without a deadline: %v", err)
	case <-ctx.Done():
		t.Fatal("CreateTicket() without a deadline still waiting: the wait is not bounded by MaxElapsed")
	}

	dctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	_, err := fe.CreateTicket(dctx, &pb.Ticket{})
	assert.Contains(t, []codes.Code{codes.Unavailable, codes.DeadlineExceeded}, status.Code(err), "CreateTicket() with a deadline: %v", err)
}
