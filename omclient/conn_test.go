package omclient_test

import (
	"context"
	"errors"
	"net"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

func TestNewConnRejectsInvalidAddr(t *testing.T) {
	for _, addr := range []string{"", "frontend", "frontend:", ":50504", "frontend:http", "frontend:0", "frontend:70000", "frontend:+80", "frontend:0080", "bad host:80", "[::1"} {
		t.Run(addr, func(t *testing.T) {
			c, err := omclient.NewConn(addr)
			if err == nil {
				c.Close()
				t.Fatalf("NewConn(%q) = nil error, want an invalid address error", addr)
			}
		})
	}
}

func TestNewConnRejectsUnknownForcedStrategy(t *testing.T) {
	t.Setenv("MESHMATCH_STRATEGY", "carrier-pigeon")
	c, err := omclient.NewConn("open-match-frontend:50504")
	if err == nil {
		c.Close()
		t.Fatal("NewConn with an unknown forced strategy = nil error")
	}
}

func TestClosedConn(t *testing.T) {
	ctx := testContext(t)
	fe, srv := startFrontend(t)
	c := dial(t, srv.addr)
	f := omclient.NewFrontend(c)
	if _, err := f.GetTicket(ctx, "t1"); err != nil {
		t.Fatalf("GetTicket() before Close = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatalf("Close() = %v", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close() = %v, want nil", err)
	}
	_, err := f.GetTicket(ctx, "t1")
	if !errors.Is(err, omclient.ErrClosed) || status.Code(err) != codes.Canceled {
		t.Errorf("GetTicket() after Close = %v, want ErrClosed with code Canceled", err)
	}
	for range f.WatchAssignments(ctx, "t1") {
	}
	if got := fe.count("GetTicket"); got != 1 {
		t.Errorf("server saw %d GetTicket calls, want 1 (none after Close)", got)
	}
}

func TestCancelledContext(t *testing.T) {
	fe, srv := startFrontend(t)
	f := omclient.NewFrontend(dial(t, srv.addr))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.GetTicket(ctx, "t1"); status.Code(err) != codes.Canceled {
		t.Errorf("GetTicket(cancelled) = %v, want code Canceled", err)
	}
	if _, err := f.CreateTicket(ctx, &pb.Ticket{}); status.Code(err) != codes.Canceled {
		t.Errorf("CreateTicket(cancelled) = %v, want code Canceled", err)
	}
	if fe.count("CreateTicket") != 0 {
		t.Errorf("a cancelled CreateTicket reached the server")
	}
}

// TestBadRequests: requests that cannot be right are refused before they are
// sent, with InvalidArgument and without panicking.
func TestBadRequests(t *testing.T) {
	ctx := testContext(t)
	fe, srv := startFrontend(t)
	c := dial(t, srv.addr)
	f, b, q := omclient.NewFrontend(c), omclient.NewBackend(c), omclient.NewQuery(c)
	tests := []struct {
		name string
		call func() error
	}{
		{"CreateTicket nil", func() error { _, err := f.CreateTicket(ctx, nil); return err }},
		{"GetTicket empty id", func() error { _, err := f.GetTicket(ctx, ""); return err }},
		{"DeleteTicket empty id", func() error { return f.DeleteTicket(ctx, "") }},
		{"CreateBackfill nil", func() error { _, err := f.CreateBackfill(ctx, nil); return err }},
		{"GetBackfill empty id", func() error { _, err := f.GetBackfill(ctx, ""); return err }},
		{"DeleteBackfill empty id", func() error { return f.DeleteBackfill(ctx, "") }},
		{"UpdateBackfill nil", func() error { _, err := f.UpdateBackfill(ctx, nil); return err }},
		{"AcknowledgeBackfill empty id", func() error {
			_, err := f.AcknowledgeBackfill(ctx, "", &pb.Assignment{})
			return err
		}},
		{"AcknowledgeBackfill nil assignment", func() error { _, err := f.AcknowledgeBackfill(ctx, "b1", nil); return err }},
		{"WatchAssignments empty id", func() error {
			var last error
			for _, err := range f.WatchAssignments(ctx, "") {
				last = err
			}
			return last
		}},
		{"FetchMatches nil config", func() error {
			_, err := b.FetchMatches(ctx, nil, &pb.MatchProfile{})
			return err
		}},
		{"FetchMatches nil profile", func() error {
			_, err := b.FetchMatches(ctx, &pb.FunctionConfig{}, nil)
			return err
		}},
		{"QueryTickets nil pool", func() error { _, err := q.QueryTickets(ctx, nil); return err }},
		{"QueryTicketIds nil pool", func() error { _, err := q.QueryTicketIds(ctx, nil); return err }},
		{"QueryBackfills nil pool", func() error { _, err := q.QueryBackfills(ctx, nil); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.call(); status.Code(err) != codes.InvalidArgument {
				t.Errorf("%s = %v, want code InvalidArgument", tc.name, err)
			}
		})
	}
	for _, m := range []string{"CreateTicket", "GetTicket", "DeleteTicket", "CreateBackfill", "WatchAssignments"} {
		if n := fe.count(m); n != 0 {
			t.Errorf("server saw %d %s calls from refused requests, want 0", n, m)
		}
	}
}

// TestForcedStrategy: $MESHMATCH_STRATEGY picks one strategy of the default
// chain, and the connection says so.
func TestForcedStrategy(t *testing.T) {
	t.Setenv("MESHMATCH_STRATEGY", "headless")
	ctx := testContext(t)
	_, srv := startFrontend(t)
	c, err := omclient.NewConn(srv.addr)
	if err != nil {
		t.Fatalf("NewConn() = %v", err)
	}
	defer c.Close()
	if _, err := omclient.NewFrontend(c).GetTicket(ctx, "t1"); err != nil {
		t.Fatalf("GetTicket() = %v", err)
	}
	if d := c.Decision(); d.Strategy != "headless" {
		t.Errorf("Decision().Strategy = %q, want headless", d.Strategy)
	}
}

// TestAutoFallsBackToHeadless: with no sidecar agent answering, an Auto
// chain ends on the headless strategy and the connection reports why.
func TestAutoFallsBackToHeadless(t *testing.T) {
	ctx := testContext(t)
	_, srv := startFrontend(t)
	c, err := omclient.NewConn(srv.addr, omclient.WithStrategy(&balancer.Auto{
		Strategies: []balancer.Strategy{
			&balancer.Sidecar{ProbeAddr: closedPort(t), AdminAddr: closedPort(t)},
			&balancer.Headless{},
		},
	}))
	if err != nil {
		t.Fatalf("NewConn() = %v", err)
	}
	defer c.Close()
	if _, err := omclient.NewFrontend(c).GetTicket(ctx, "t1"); err != nil {
		t.Fatalf("GetTicket() = %v", err)
	}
	d := c.Decision()
	if d.Strategy != "headless" || len(d.Detections) != 2 || d.Detections[0].Available {
		t.Errorf("Decision() = %+v, want headless after an unavailable sidecar", d)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	lis.Close()
	return addr
}
