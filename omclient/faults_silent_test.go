package omclient_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/faulttest"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// TestFaultSilentBackend: a backend that accepts TCP connections and never
// speaks HTTP/2 fails every call by its deadline; it never hangs.
func TestFaultSilentBackend(t *testing.T) {
	t.Parallel()
	calls := []struct {
		name string
		call func(ctx context.Context, c *omclient.Conn) error
	}{
		{name: "CreateTicket", call: func(ctx context.Context, c *omclient.Conn) error {
			_, err := omclient.NewFrontend(c).CreateTicket(ctx, &pb.Ticket{})
			return err
		}},
		{name: "GetTicket", call: func(ctx context.Context, c *omclient.Conn) error {
			_, err := omclient.NewFrontend(c).GetTicket(ctx, "t")
			return err
		}},
		{name: "WatchAssignments", call: func(ctx context.Context, c *omclient.Conn) error {
			for _, err := range omclient.NewFrontend(c).WatchAssignments(ctx, "t") {
				if err != nil {
					return err
				}
			}
			return nil
		}},
		{name: "FetchMatches", call: func(ctx context.Context, c *omclient.Conn) error {
			_, err := omclient.NewBackend(c).FetchMatches(ctx, fetchConfig, fetchProfile)
			return err
		}},
		{name: "QueryTickets", call: func(ctx context.Context, c *omclient.Conn) error {
			_, err := omclient.NewQuery(c).QueryTickets(ctx, &pb.Pool{Name: "all"})
			return err
		}},
	}
	for _, tc := range calls {
		t.Run("deadline/"+tc.name, func(t *testing.T) {
			t.Parallel()
			silent := faulttest.NewSilent(t)
			c := faultConn(t, balancer.Static{Addrs: []string{silent.Addr()}}, silent.Addr())
			ctx, cancel := context.WithTimeout(testContext(t), shortWait)
			defer cancel()
			err := tc.call(ctx, c)
			assert.Equal(t, codes.DeadlineExceeded, status.Code(err), "%s() on a silent backend = %v, want code DeadlineExceeded", tc.name, err)
			assert.Equal(t, int64(1), silent.Accepted(), "connections the silent backend accepted")
		})
	}
	t.Run("no deadline, connect timeout", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		silent := faulttest.NewSilent(t)
		c := faultConn(t, balancer.Static{Addrs: []string{silent.Addr()}}, silent.Addr(),
			omclient.WithRetryPolicy(omclient.RetryPolicy{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, MaxElapsed: shortWait}),
			omclient.WithDialOptions(grpc.WithConnectParams(grpc.ConnectParams{MinConnectTimeout: 100 * time.Millisecond})))
		_, err := omclient.NewFrontend(c).GetTicket(ctx, "t")
		assert.Equal(t, codes.Unavailable, status.Code(err), "GetTicket() on a silent backend = %v, want code Unavailable", err)
		assert.NoError(t, ctx.Err(), "test context after the call")
	})
	t.Run("one silent pod of three", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		rec := newRecorder()
		core := omtest.NewServer(t, omtest.WithServerOptions(rec.options()...))
		pods := faulttest.NewProxies(t, 3, core.Addr())
		pods[1].SetMode(faulttest.Blackhole)
		s, addr := headlessPods(t, pods)
		fe := omclient.NewFrontend(faultConn(t, s, addr))
		// Call until both live pods have served (each connects in its own
		// time), then some more: the silent pod must never serve.
		extra := 30
		callUntil(t, ctx, fe, "calls served by both live pods", func(_ string, err error) bool {
			assert.Equal(t, codes.NotFound, status.Code(err), "GetTicket() = %v, want code NotFound from the core", err)
			seen := podsSeen(pods, rec.ips("GetTicket"))
			if seen[pods[0]] && seen[pods[2]] {
				extra--
			}
			return extra == 0
		})
		seen := podsSeen(pods, rec.ips("GetTicket"))
		assert.False(t, seen[pods[1]], "the silent pod served a call")
		assert.Len(t, seen, 2, "pods that served calls")
	})
	t.Run("pod goes silent", func(t *testing.T) {
		t.Parallel()
		ctx := testContext(t)
		rec := newRecorder()
		core := omtest.NewServer(t, omtest.WithServerOptions(rec.options()...))
		pods := faulttest.NewProxies(t, 3, core.Addr())
		s, addr := headlessPods(t, pods)
		fe := omclient.NewFrontend(faultConn(t, s, addr))
		waitPodsServed(t, ctx, fe, rec, pods)

		pods[1].SetMode(faulttest.Blackhole)
		before := len(rec.ips("GetTicket"))
		var timedOut int
		for i := range 6 {
			short, cancel := context.WithTimeout(ctx, shortWait)
			_, err := fe.GetTicket(short, "t")
			cancel()
			switch status.Code(err) {
			case codes.NotFound:
			case codes.DeadlineExceeded:
				timedOut++
			default:
				t.Errorf("GetTicket() call %d with one pod silent = %v, want code NotFound or DeadlineExceeded", i, err)
			}
		}
		assert.Positive(t, timedOut, "calls that ran into their deadline on the silent pod")
		for _, ip := range rec.ips("GetTicket")[before:] {
			assert.NotEqual(t, podIPs(pods)[1], ip, "pod that served a call while silent")
		}
	})
}
