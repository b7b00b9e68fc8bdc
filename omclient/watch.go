package omclient

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// WatchAssignments yields each new assignment of the ticket id, in order.
//
// The watch resumes by itself, with backoff, when its stream breaks
// (Unavailable, a reset connection, a server that went away) and does not
// yield an assignment it already yielded. Only a new assignment resets the
// backoff: a stream that sends the current assignment again and is cut is
// reopened at a growing interval, up to RetryPolicy.MaxBackoff. NotFound within the watch grace
// (WithWatchGrace) after the watch started is retried, since a ticket created
// a moment ago may not be visible yet; a later NotFound ends the watch. The
// watch also ends when ctx is done; the last value yielded then carries the
// error (code Canceled or DeadlineExceeded). Breaking out of the loop stops
// the watch and releases its stream.
func (f *Frontend) WatchAssignments(ctx context.Context, id string) iter.Seq2[*pb.Assignment, error] {
	return func(yield func(*pb.Assignment, error) bool) {
		if id == "" {
			yield(nil, invalidArg("watch assignments", "ticket id is required"))
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		w := &watcher{f: f, id: id, start: time.Now()}
		if err := w.run(ctx, yield); err != nil {
			yield(nil, wrap("watch assignments "+id, err))
		}
	}
}

type watcher struct {
	f     *Frontend
	id    string
	start time.Time
	last  *pb.Assignment
}

// errStopped reports that the consumer broke out of the loop.
var errStopped = errors.New("stopped by consumer")

// run watches until a final error, which it returns, or until the consumer
// stops, when it returns nil.
func (w *watcher) run(ctx context.Context, yield func(*pb.Assignment, error) bool) error {
	p := w.f.s.retry
	p.MaxElapsed = -1 // a watch lives as long as its context
	wt := p.waiter(ctx)
	defer wt.stop()
	for {
		err := w.stream(ctx, yield, wt)
		if errors.Is(err, errStopped) {
			return nil
		}
		if ctx.Err() != nil {
			return status.FromContextError(ctx.Err()).Err()
		}
		if !w.resumable(err) {
			return err
		}
		w.f.s.logger.Debug("omclient: resuming assignment watch", "ticket", w.id, "err", err)
		if !wt.wait(ctx) {
			return status.FromContextError(ctx.Err()).Err()
		}
		if c := w.f.s.conn; c != nil {
			c.tel.Resume(ctx)
		}
	}
}

// stream runs one WatchAssignments stream until it breaks.
func (w *watcher) stream(ctx context.Context, yield func(*pb.Assignment, error) bool, wt *waiter) error {
	s, err := w.f.raw.WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: w.id})
	if err != nil {
		return err
	}
	for {
		resp, err := s.Recv()
		if err != nil {
			return err
		}
		a := resp.GetAssignment()
		if a == nil || proto.Equal(a, w.last) {
			continue // a repeat is no progress: the backoff keeps growing
		}
		wt.reset()
		w.last = a
		if !yield(a, nil) {
			return errStopped
		}
	}
}

// resumable reports whether the watch should open a new stream after err.
func (w *watcher) resumable(err error) bool {
	if errors.Is(err, io.EOF) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Aborted:
		return true
	case codes.ResourceExhausted:
		return !overSizeLimit(err)
	case codes.NotFound:
		return time.Since(w.start) < w.f.s.grace
	}
	return false
}
