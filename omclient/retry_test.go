package omclient_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

var errUnavailable = status.Error(codes.Unavailable, "backend going away")

func startFrontend(t *testing.T) (*scriptedFrontend, *server) {
	fe := newScriptedFrontend()
	srv := startServer(t, func(gs *grpc.Server) { pb.RegisterFrontendServiceServer(gs, fe) })
	return fe, srv
}

func TestCreateTicketNeverRetried(t *testing.T) {
	ctx := testContext(t)
	fe, srv := startFrontend(t)
	fe.fail("CreateTicket", errUnavailable)
	f := omclient.NewFrontend(dial(t, srv.addr))

	_, err := f.CreateTicket(ctx, &pb.Ticket{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("CreateTicket() = %v, want code Unavailable", err)
	}
	if got := fe.count("CreateTicket"); got != 1 {
		t.Errorf("server saw %d CreateTicket calls, want exactly 1", got)
	}
}

func TestCreateBackfillNeverRetried(t *testing.T) {
	ctx := testContext(t)
	fe, srv := startFrontend(t)
	fe.fail("CreateBackfill", errUnavailable)
	f := omclient.NewFrontend(dial(t, srv.addr))

	if _, err := f.CreateBackfill(ctx, &pb.Backfill{}); status.Code(err) != codes.Unavailable {
		t.Fatalf("CreateBackfill() = %v, want code Unavailable", err)
	}
	if got := fe.count("CreateBackfill"); got != 1 {
		t.Errorf("server saw %d CreateBackfill calls, want exactly 1", got)
	}
}

func TestIdempotentCallsRetried(t *testing.T) {
	tests := []struct {
		name   string
		method string
		errs   []error
		call   func(context.Context, *omclient.Frontend) error
		want   codes.Code
		calls  int
	}{
		{
			name:   "GetTicket until success",
			method: "GetTicket",
			errs:   []error{errUnavailable, errUnavailable},
			call: func(ctx context.Context, f *omclient.Frontend) error {
				_, err := f.GetTicket(ctx, "t1")
				return err
			},
			want:  codes.OK,
			calls: 3,
		},
		{
			name:   "GetTicket on ResourceExhausted",
			method: "GetTicket",
			errs:   []error{status.Error(codes.ResourceExhausted, "slow down")},
			call: func(ctx context.Context, f *omclient.Frontend) error {
				_, err := f.GetTicket(ctx, "t1")
				return err
			},
			want:  codes.OK,
			calls: 2,
		},
		{
			name:   "DeleteTicket until success",
			method: "DeleteTicket",
			errs:   []error{errUnavailable},
			call:   func(ctx context.Context, f *omclient.Frontend) error { return f.DeleteTicket(ctx, "t1") },
			want:   codes.OK,
			calls:  2,
		},
		{
			name:   "GetTicket not retried on NotFound",
			method: "GetTicket",
			errs:   []error{status.Error(codes.NotFound, "Ticket id: t1 not found")},
			call: func(ctx context.Context, f *omclient.Frontend) error {
				_, err := f.GetTicket(ctx, "t1")
				return err
			},
			want:  codes.NotFound,
			calls: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			fe, srv := startFrontend(t)
			fe.fail(tc.method, tc.errs...)
			f := omclient.NewFrontend(dial(t, srv.addr))
			if err := tc.call(ctx, f); status.Code(err) != tc.want {
				t.Fatalf("%s = %v, want code %v", tc.method, err, tc.want)
			}
			if got := fe.count(tc.method); got != tc.calls {
				t.Errorf("server saw %d %s calls, want %d", got, tc.method, tc.calls)
			}
		})
	}
}

// TestNoRetryPastDeadline: a server that is always unavailable gets attempts
// only while the caller's deadline leaves room for the next backoff, and the
// caller sees the server's error, not a doomed attempt's DeadlineExceeded.
func TestNoRetryPastDeadline(t *testing.T) {
	fe, srv := startFrontend(t)
	errs := make([]error, 1000)
	for i := range errs {
		errs[i] = errUnavailable
	}
	fe.fail("GetTicket", errs...)
	f := omclient.NewFrontend(dial(t, srv.addr, omclient.WithRetryPolicy(omclient.RetryPolicy{
		InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Multiplier: 2, Jitter: 0.01,
	})))

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_, err := f.GetTicket(ctx, "t1")
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("GetTicket() = %v, want the server's Unavailable", err)
	}
	if ctx.Err() != nil {
		t.Errorf("GetTicket returned after its deadline: %v", ctx.Err())
	}
	// Backoffs of ~0.1, 0.2, 0.4 and 0.8 s fit in 2 s; the next (1 s) does not.
	if got := fe.count("GetTicket"); got < 2 || got > 5 {
		t.Errorf("server saw %d GetTicket calls, want 2 to 5 within the deadline", got)
	}
}

func TestErrorsKeepStatusAndContext(t *testing.T) {
	ctx := testContext(t)
	fe, srv := startFrontend(t)
	fe.fail("GetTicket", status.Error(codes.NotFound, "Ticket id: abc not found"))
	f := omclient.NewFrontend(dial(t, srv.addr))
	_, err := f.GetTicket(ctx, "abc")
	if status.Code(err) != codes.NotFound {
		t.Fatalf("GetTicket() = %v, want code NotFound", err)
	}
	const want = "omclient: get ticket abc: rpc error: code = NotFound desc = Ticket id: abc not found"
	if err.Error() != want {
		t.Errorf("GetTicket() error = %q, want %q", err, want)
	}
	var se interface{ GRPCStatus() *status.Status }
	if !errors.As(err, &se) {
		t.Errorf("errors.As(%v, GRPCStatus) = false, want true", err)
	}
}
