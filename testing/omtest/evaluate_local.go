package omtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/meshmatch/meshmatch/internal/defaulteval"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// StreamEvaluateFunc is an evaluator that runs for a whole synchronizer
// cycle, as Open-Match's evaluator harness (internal/app/evaluator) runs one:
// it starts when the cycle starts, proposals arrive on proposals as the
// match functions send them, and the channel closes when the cycle's input
// does. Each id given to accept is an accepted match, streamed to its caller
// at once, while the registration window may still be open. accept fails
// once the cycle no longer listens (ctx is then done). The function must
// return when ctx is done: the cycle waits for it.
type StreamEvaluateFunc func(ctx context.Context, proposals <-chan *pb.Match, accept func(matchID string) error) error

// batchEvaluator runs fn, which decides over a whole cycle at once, as a
// StreamEvaluateFunc: it gathers the proposals until the input closes, calls
// fn and accepts what fn returns, like Open-Match's harness does for its
// default evaluator.
func batchEvaluator(fn omclient.EvaluateFunc) StreamEvaluateFunc {
	return func(ctx context.Context, proposals <-chan *pb.Match, accept func(string) error) error {
		ms, err := gather(ctx, proposals)
		if err != nil {
			return err
		}
		ids, err := fn(ctx, ms)
		if err != nil {
			return err
		}
		for _, id := range ids {
			if err := accept(id); err != nil {
				return err
			}
		}
		return nil
	}
}

// gather reads proposals until the channel closes or ctx is done.
func gather(ctx context.Context, proposals <-chan *pb.Match) ([]*pb.Match, error) {
	var ms []*pb.Match
	for {
		select {
		case m, ok := <-proposals:
			if !ok {
				return ms, nil
			}
			ms = append(ms, m)
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// defaultEvaluator is Open-Match's default evaluator in its harness: it
// reads every proposal of the cycle as it arrives and decides once the input
// closes (it cannot accept earlier: a better proposal may still come).
var defaultEvaluator = batchEvaluator(func(_ context.Context, ms []*pb.Match) ([]string, error) {
	return defaulteval.Evaluate(ms), nil
})

// localEvalBuffer is how many proposals may wait for an in-process
// evaluator to take them.
const localEvalBuffer = 256

// localEval is one cycle's run of an in-process evaluator, shaped like the
// Evaluate stream. Its goroutine starts with the stream and is joined by
// the cycle (spawn).
type localEval struct {
	ctx  context.Context
	in   chan *pb.Match
	out  chan string
	done chan struct{} // closed when fn has returned; err is set then
	once sync.Once
	err  error
}

func newLocalEval(ctx context.Context, fn StreamEvaluateFunc, spawn func(func())) *localEval {
	l := &localEval{
		ctx: ctx, in: make(chan *pb.Match, localEvalBuffer),
		out: make(chan string), done: make(chan struct{}),
	}
	spawn(func() {
		defer close(l.done)
		l.err = l.call(fn)
	})
	return l
}

// call runs fn, turning a panic into an error.
func (l *localEval) call(fn StreamEvaluateFunc) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("omtest: evaluator panicked: %v", r)
		}
	}()
	return fn(l.ctx, l.in, l.accept)
}

func (l *localEval) accept(id string) error {
	select {
	case l.out <- id:
		return nil
	case <-l.ctx.Done():
		return l.ctx.Err()
	}
}

var errEvaluatorStopped = errors.New("omtest: evaluator stopped reading proposals")

func (l *localEval) Send(m *pb.Match) error {
	select {
	case l.in <- m:
		return nil
	case <-l.done:
		return errEvaluatorStopped
	case <-l.ctx.Done():
		return l.ctx.Err()
	}
}

func (l *localEval) CloseSend() error {
	l.once.Do(func() { close(l.in) })
	return nil
}

// Recv returns the next accepted id; io.EOF once fn returned cleanly. Ids
// accepted before fn returned all come first: accept hands each over before
// it returns.
func (l *localEval) Recv() (string, error) {
	select {
	case id := <-l.out:
		return id, nil
	case <-l.done:
		if l.err != nil {
			return "", l.err
		}
		return "", io.EOF
	case <-l.ctx.Done():
		return "", l.ctx.Err()
	}
}
