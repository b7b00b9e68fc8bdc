package omtest

import (
	"context"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// evaluator opens the configured evaluator: in process, remote, or default.
type evaluator struct {
	fn     StreamEvaluateFunc // in process; nil for a remote one
	custom bool               // fn is the user's, not the default evaluator
	target string
	dial   *dialCache
}

// newEvaluator picks the evaluator cfg configures: a streaming function, a
// batch function, a remote target, or the default evaluator.
func newEvaluator(cfg Config, dial *dialCache) *evaluator {
	switch {
	case cfg.StreamEvaluator != nil:
		return &evaluator{fn: cfg.StreamEvaluator, custom: true}
	case cfg.Evaluator != nil:
		return &evaluator{fn: batchEvaluator(cfg.Evaluator), custom: true}
	case cfg.EvaluatorTarget != "":
		return &evaluator{target: cfg.EvaluatorTarget, dial: dial}
	default:
		return &evaluator{fn: defaultEvaluator}
	}
}

// evalStream is one cycle's evaluation, shaped like the Evaluate stream.
type evalStream interface {
	Send(*pb.Match) error
	CloseSend() error
	Recv() (string, error) // io.EOF once the evaluator is done
}

// open starts one evaluation for a cycle; ctx ends it. An in-process
// evaluator runs in a goroutine started with spawn, which its cycle joins.
func (e *evaluator) open(ctx context.Context, spawn func(func())) (evalStream, error) {
	if e.fn != nil {
		return newLocalEval(ctx, e.fn, spawn), nil
	}
	return e.remote(ctx)
}

// input is what the evaluator is given for proposal m: a copy, so that
// neither a custom evaluator nor a later change on the cycle's side can
// alter the other's match. The default evaluator only reads its input and
// is done before the cycle changes a match, so it gets m itself, which
// saves a deep copy of every proposal and its tickets.
func (e *evaluator) input(m *pb.Match) *pb.Match {
	if e.fn != nil && !e.custom {
		return m
	}
	return proto.Clone(m).(*pb.Match)
}

func (e *evaluator) remote(ctx context.Context) (evalStream, error) {
	cc, err := e.dial.get(e.target)
	if err != nil {
		return nil, fmt.Errorf("omtest: dial evaluator %s: %w", e.target, err)
	}
	stream, err := pb.NewEvaluatorClient(cc).Evaluate(ctx)
	if err != nil {
		return nil, fmt.Errorf("omtest: evaluate: %w", err)
	}
	return remoteEval{stream}, nil
}

type remoteEval struct {
	stream pb.Evaluator_EvaluateClient
}

func (r remoteEval) Send(m *pb.Match) error { return r.stream.Send(&pb.EvaluateRequest{Match: m}) }
func (r remoteEval) CloseSend() error       { return r.stream.CloseSend() }

func (r remoteEval) Recv() (string, error) {
	resp, err := r.stream.Recv()
	if errors.Is(err, io.EOF) {
		return "", io.EOF
	}
	if err != nil {
		return "", fmt.Errorf("omtest: evaluate: %w", err)
	}
	return resp.GetMatchId(), nil
}

// feed sends what the cycle queues to the evaluator, then closes its input,
// also when a send failed, so that an evaluator reading its input to the
// end is never left waiting.
func feed(in *queue[*pb.Match], st evalStream) {
	defer func() { _ = st.CloseSend() }()
	for range in.ready {
		ms, closed := in.take()
		for _, m := range ms {
			if err := st.Send(m); err != nil {
				return
			}
		}
		if closed {
			return
		}
	}
}

// receive routes each id the evaluator accepts to its call, at once.
func (c *cycle) receive(st evalStream) {
	defer close(c.evalDone)
	for {
		id, err := st.Recv()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			c.fail(err)
			return
		}
		if !c.accept(id) {
			return
		}
	}
}

// accept makes an accepted match's tickets pending, applies its backfill and
// hands it to its call. Ids the cycle never saw, or saw accepted already,
// fail the cycle with Open-Match's messages.
func (c *cycle) accept(id string) bool {
	c.mu.Lock()
	m, cl := c.byID[id], c.owner[id]
	_, again := c.accepted[id]
	switch {
	case c.err != nil:
	case m == nil:
		c.failLocked(fmt.Errorf("evaluator returned match_id %q which does not correspond to its any match in its input", id))
	case again:
		c.failLocked(fmt.Errorf("evaluator returned same match_id twice: %q", id))
	default:
		c.accepted[id] = struct{}{}
	}
	failed := c.err != nil
	c.mu.Unlock()
	if failed {
		return false
	}
	if c.s.store.commitMatch(m) {
		cl.out.push(m)
	}
	return true
}
