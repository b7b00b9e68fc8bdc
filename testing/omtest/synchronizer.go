package omtest

import (
	"context"
	"errors"
	"sync"

	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

var (
	errWindowOverrun = errors.New("match function ran longer than proposal window, canceling")
	errClosing       = errors.New("omtest: server closing")
)

// synchronizer runs cycles one after another, so that a cycle's MMFs see the
// tickets the previous cycle made pending. Like Open-Match's, it puts every
// FetchMatches call that arrives during a cycle's registration window into
// that cycle, which has one evaluator stream for all of them.
type synchronizer struct {
	cfg   Config
	store *store
	mmf   *mmfRunner
	eval  *evaluator
	base  context.Context // cancelled when the core closes
	wg    *sync.WaitGroup

	mu   sync.Mutex
	open *cycle // accepting registrations, or nil
	last *cycle // most recently created cycle
}

// outcome is the end of one FetchMatches call: Open-Match's syncErr and mmfErr.
type outcome struct {
	syncErr, mmfErr error
}

// fetch registers a FetchMatches call, runs its MMF once the cycle starts and
// sends each match of the call as soon as the evaluator accepts it. err is
// set when the caller went away or a send failed.
func (s *synchronizer) fetch(ctx context.Context, req *pb.FetchMatchesRequest, send func(*pb.Match) error) (outcome, error) {
	c, cl := s.register(ctx)
	defer c.leave(cl)
	select {
	case <-c.started:
	case <-ctx.Done():
		return outcome{}, status.FromContextError(ctx.Err()).Err()
	}
	mmfDone := make(chan error, 1)
	go func() { // fetch waits for it in cl.stream
		err := s.mmf.run(cl.mmfCtx, req, func(m *pb.Match) { c.propose(cl, m) })
		c.doneProposing(cl)
		mmfDone <- err
	}()
	return cl.stream(ctx, mmfDone, send)
}

// register adds a call to the open cycle, creating one if needed.
func (s *synchronizer) register(ctx context.Context) (*cycle, *call) {
	cl := newCall(ctx)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		c := newCycle(s)
		var prev <-chan struct{}
		if s.last != nil {
			prev = s.last.finished
		}
		s.open, s.last = c, c
		s.wg.Add(1)
		go s.run(c, prev)
	}
	s.open.add(cl)
	return s.open, cl
}

func (s *synchronizer) closeRegistration(c *cycle) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == c {
		s.open = nil
	}
}

// run drives one cycle: wait for the previous cycle, open the evaluator
// stream, hold the registration window, wait for the MMFs (cancelling them
// when the proposal window ends), close the evaluator's input, wait for its
// verdicts and end every call.
func (s *synchronizer) run(c *cycle, prev <-chan struct{}) {
	defer s.wg.Done()
	defer close(c.finished)
	if prev != nil {
		select {
		case <-prev:
		case <-s.base.Done():
		}
	}
	start := s.cfg.Clock.Now()
	c.begin()
	close(c.started)
	if !c.sleep(s.cfg.RegistrationInterval) {
		c.fail(errClosing)
	}
	s.closeRegistration(c)
	deadline := start.Add(s.cfg.RegistrationInterval + s.cfg.ProposalCollectionInterval)
	c.collect(deadline.Sub(s.cfg.Clock.Now()))
	c.in.close()
	c.awaitEvaluator()
	s.store.sweep()
	c.finish()
}
