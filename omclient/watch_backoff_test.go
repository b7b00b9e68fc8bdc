package omclient_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// cuttingFrontend sends the ticket's current assignment on every watch
// stream and then cuts the stream with Unavailable, like a proxy idle
// timeout or MaxConnectionAge would. It records when each stream opened.
type cuttingFrontend struct {
	pb.UnimplementedFrontendServiceServer

	mu     sync.Mutex
	opened []time.Time
	seen   chan struct{} // receives once per stream
}

func (f *cuttingFrontend) WatchAssignments(_ *pb.WatchAssignmentsRequest, stream pb.FrontendService_WatchAssignmentsServer) error {
	f.mu.Lock()
	f.opened = append(f.opened, time.Now())
	f.mu.Unlock()
	f.seen <- struct{}{}
	if err := stream.Send(&pb.WatchAssignmentsResponse{Assignment: &pb.Assignment{Connection: "gs-1"}}); err != nil {
		return err
	}
	return errUnavailable
}

// TestWatchBacksOffOnRepeatedAssignment: a repeat of the assignment already
// yielded is not progress, so the reopen interval grows to MaxBackoff
// instead of staying at InitialBackoff. The check is a lower bound on the
// last gap (load only makes gaps longer).
func TestWatchBacksOffOnRepeatedAssignment(t *testing.T) {
	ctx := testContext(t)
	const streams = 8
	fe := &cuttingFrontend{seen: make(chan struct{}, streams+8)}
	srv := startServer(t, func(gs *grpc.Server) { pb.RegisterFrontendServiceServer(gs, fe) })
	policy := omclient.RetryPolicy{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond, Multiplier: 2, Jitter: 0.2}
	f := omclient.NewFrontend(dial(t, srv.addr, omclient.WithRetryPolicy(policy)))

	wctx, stop := context.WithCancel(ctx)
	defer stop()
	yielded := make(chan int, 1)
	go func() {
		n := 0
		for a, err := range f.WatchAssignments(wctx, "t1") {
			if err == nil {
				n++
				assert.Equal(t, "gs-1", a.GetConnection(), "assignment watched")
			}
		}
		yielded <- n
	}()
	for i := range streams {
		select {
		case <-fe.seen:
		case <-ctx.Done():
			t.Fatalf("watch stream %d never opened: %v", i+1, ctx.Err())
		}
	}
	stop()
	assert.Equal(t, 1, <-yielded, "assignments yielded")
	fe.mu.Lock()
	defer fe.mu.Unlock()
	last := fe.opened[streams-1].Sub(fe.opened[streams-2])
	// After 6 waits of 10, 20, 40, 80, 100, 100 ms (±20 %), the wait is at
	// MaxBackoff; without backoff growth it stays near 10 ms.
	assert.GreaterOrEqual(t, last, 80*time.Millisecond, "gap between watch streams %d and %d (all: %v)", streams-1, streams, fe.opened)
}
