package omclient_test

import (
	"context"

	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// TestWatchSurvivesServerRestart stops the server mid-watch, assigns the
// ticket while it is down, and restarts it: the watcher must resume and
// deliver that assignment, once.
func TestWatchSurvivesServerRestart(t *testing.T) {
	ctx := testContext(t)
	fe, srv := startFrontend(t)
	f := omclient.NewFrontend(dial(t, srv.addr))

	first := &pb.Assignment{Connection: "10.0.0.1:7777"}
	second := &pb.Assignment{Connection: "10.0.0.2:7777"}
	type result struct {
		a   *pb.Assignment
		err error
	}
	got := make(chan result, 4)
	go func() {
		defer close(got)
		for a, err := range f.WatchAssignments(ctx, "t1") {
			got <- result{a, err}
			if err != nil || proto.Equal(a, second) {
				return
			}
		}
	}()

	waitWatch(t, fe)
	fe.setAssignment("t1", first)
	if r := <-got; r.err != nil || !proto.Equal(r.a, first) {
		t.Fatalf("first value = (%v, %v), want (%v, nil)", r.a, r.err, first)
	}

	srv.stop()
	fe.setAssignment("t1", second) // made while the server is down
	srv.restart()

	if r := <-got; r.err != nil || !proto.Equal(r.a, second) {
		t.Fatalf("value after restart = (%v, %v), want (%v, nil)", r.a, r.err, second)
	}
	if _, more := <-got; more {
		t.Errorf("watch yielded more values after the consumer stopped")
	}
	if n := fe.count("WatchAssignments"); n < 2 {
		t.Errorf("server saw %d WatchAssignments streams, want a resumed one (>= 2)", n)
	}
}

func waitWatch(t *testing.T, fe *scriptedFrontend) {
	t.Helper()
	select {
	case <-fe.watches:
	case <-testContext(t).Done():
		t.Fatal("no watch stream reached the server")
	}
}

func TestWatchNotFoundAfterGraceEnds(t *testing.T) {
	ctx := testContext(t)
	_, srv := startFrontend(t)
	f := omclient.NewFrontend(dial(t, srv.addr, omclient.WithWatchGrace(0)))
	var errs []error
	for a, err := range f.WatchAssignments(ctx, "missing-1") {
		if a != nil {
			t.Fatalf("watch of a missing ticket yielded %v", a)
		}
		errs = append(errs, err)
	}
	if len(errs) != 1 || status.Code(errs[0]) != codes.NotFound {
		t.Fatalf("watch of a missing ticket yielded errors %v, want one NotFound", errs)
	}
}

// TestWatchNotFoundRetriedWithinGrace: a ticket that is not visible yet is
// looked for again while the grace lasts.
func TestWatchNotFoundRetriedWithinGrace(t *testing.T) {
	ctx := testContext(t)
	fe, srv := startFrontend(t)
	fe.fail("WatchAssignments", status.Error(codes.NotFound, "Ticket id: t2 not found"))
	f := omclient.NewFrontend(dial(t, srv.addr, omclient.WithWatchGrace(testTimeout)))
	fe.setAssignment("t2", &pb.Assignment{Connection: "gs:1"})
	for a, err := range f.WatchAssignments(ctx, "t2") {
		if err != nil {
			t.Fatalf("watch = %v, want the assignment", err)
		}
		if a.GetConnection() != "gs:1" {
			t.Fatalf("watch yielded %v, want connection gs:1", a)
		}
		break
	}
	if n := fe.count("WatchAssignments"); n != 2 {
		t.Errorf("server saw %d streams, want 2 (NotFound, then found)", n)
	}
}

func TestWatchEndsWithContext(t *testing.T) {
	ctx := testContext(t)
	fe, srv := startFrontend(t)
	f := omclient.NewFrontend(dial(t, srv.addr))
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		var last error
		for _, err := range f.WatchAssignments(wctx, "t3") {
			last = err
		}
		done <- last
	}()
	waitWatch(t, fe)
	cancel()
	select {
	case err := <-done:
		if status.Code(err) != codes.Canceled {
			t.Errorf("watch ended with %v, want code Canceled", err)
		}
	case <-ctx.Done():
		t.Fatal("watch did not end after its context was cancelled")
	}
}
