package omtest

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// localEval runs an in-process evaluator over one cycle's stream: it gathers
// the proposals until the input closes, calls fn once with the cycle's
// context and then yields the accepted ids, as Open-Match's evaluator harness
// does for the default evaluator.
type localEval struct {
	ctx    context.Context
	fn     omclient.EvaluateFunc
	inDone chan struct{}
	once   sync.Once

	mu        sync.Mutex
	proposals []*pb.Match

	ran bool // receiver side only
	ids []string
	err error
}

func newLocalEval(ctx context.Context, fn omclient.EvaluateFunc) *localEval {
	return &localEval{ctx: ctx, fn: fn, inDone: make(chan struct{})}
}

func (l *localEval) Send(m *pb.Match) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.proposals = append(l.proposals, m)
	return nil
}

func (l *localEval) CloseSend() error {
	l.once.Do(func() { close(l.inDone) })
	return nil
}

func (l *localEval) Recv() (string, error) {
	if !l.ran {
		l.ran = true
		select {
		case <-l.inDone:
		case <-l.ctx.Done():
			return "", l.ctx.Err()
		}
		l.mu.Lock()
		proposals := l.proposals
		l.mu.Unlock()
		l.ids, l.err = l.call(proposals)
	}
	if l.err != nil {
		return "", l.err
	}
	if len(l.ids) == 0 {
		return "", io.EOF
	}
	id := l.ids[0]
	l.ids = l.ids[1:]
	return id, nil
}

// call runs fn, turning a panic into an error.
func (l *localEval) call(proposals []*pb.Match) (ids []string, err error) {
	defer func() {
		if r := recover(); r != nil {
			ids, err = nil, fmt.Errorf("omtest: evaluator panicked: %v", r)
		}
	}()
	return l.fn(l.ctx, proposals)
}
