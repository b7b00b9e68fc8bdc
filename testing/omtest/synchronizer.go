package omtest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

var (
	errWindowOverrun = errors.New("match function ran longer than proposal window, canceling")
	errClosing       = errors.New("omtest: server closing")
)

// fetchResult is what a synchronizer cycle hands back to one FetchMatches call.
type fetchResult struct {
	matches []*pb.Match
	syncErr error
	mmfErr  error
}

// call is one FetchMatches call registered in a cycle.
type call struct {
	ctx       context.Context // the MMF's context; the cycle may cancel it
	cancel    context.CancelFunc
	submitted chan struct{} // closed once proposals and errors are set
	proposals []*pb.Match
	mmfErr    error
	syncErr   error
	result    chan fetchResult // buffered; receives exactly one value
}

// cycle is one synchronizer cycle: every call registered in its window is
// evaluated together in one evaluation.
type cycle struct {
	started  chan struct{} // closed when the previous cycle is done: MMFs may run
	finished chan struct{} // closed when results are delivered
	calls    []*call       // guarded by synchronizer.mu
}

// synchronizer runs cycles one after another, so that a cycle's MMFs see the
// tickets the previous cycle made pending.
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

// fetch registers a FetchMatches call, runs its MMF once the cycle starts,
// and waits for the cycle's verdict.
func (s *synchronizer) fetch(ctx context.Context, req *pb.FetchMatchesRequest) fetchResult {
	c, cl := s.register(ctx)
	defer cl.cancel()
	select {
	case <-c.started:
	case <-ctx.Done():
		cl.submit(nil, ctx.Err(), nil)
		return fetchResult{mmfErr: ctx.Err()}
	}
	proposals, mmfErr := s.mmf.run(cl.ctx, req)
	cl.submit(proposals, mmfErr, dupWithinCall(&proposals))
	select {
	case r := <-cl.result:
		return r
	case <-ctx.Done():
		return fetchResult{mmfErr: ctx.Err()}
	}
}

func (cl *call) submit(proposals []*pb.Match, mmfErr, syncErr error) {
	cl.proposals, cl.mmfErr, cl.syncErr = proposals, mmfErr, syncErr
	close(cl.submitted)
}

// dupWithinCall keeps the proposals before the first repeated match id and
// reports the repetition.
func dupWithinCall(proposals *[]*pb.Match) error {
	seen := make(map[string]struct{}, len(*proposals))
	for i, m := range *proposals {
		if _, dup := seen[m.GetMatchId()]; dup {
			*proposals = (*proposals)[:i]
			return fmt.Errorf("MatchMakingFunction returned same match_id twice: %q", m.GetMatchId())
		}
		seen[m.GetMatchId()] = struct{}{}
	}
	return nil
}

// register adds a call to the open cycle, creating one if needed.
func (s *synchronizer) register(ctx context.Context) (*cycle, *call) {
	mctx, cancel := context.WithCancel(ctx)
	cl := &call{
		ctx: mctx, cancel: cancel,
		submitted: make(chan struct{}),
		result:    make(chan fetchResult, 1),
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.open == nil {
		c := &cycle{started: make(chan struct{}), finished: make(chan struct{})}
		var prev <-chan struct{}
		if s.last != nil {
			prev = s.last.finished
		}
		s.open, s.last = c, c
		s.wg.Add(1)
		go s.run(c, prev)
	}
	s.open.calls = append(s.open.calls, cl)
	return s.open, cl
}

// run drives one cycle: wait for the previous cycle, hold the registration
// window, collect proposals, evaluate and deliver.
func (s *synchronizer) run(c *cycle, prev <-chan struct{}) {
	defer s.wg.Done()
	defer close(c.finished)
	if prev != nil {
		select {
		case <-prev:
		case <-s.base.Done():
		}
	}
	close(c.started)
	collect := time.NewTimer(s.cfg.ProposalCollectionInterval)
	defer collect.Stop()
	window := time.NewTimer(s.cfg.RegistrationInterval)
	defer window.Stop()
	select {
	case <-window.C:
	case <-s.base.Done():
	}
	s.mu.Lock()
	if s.open == c {
		s.open = nil
	}
	calls := c.calls
	s.mu.Unlock()

	if s.base.Err() != nil {
		deliverAll(calls, fetchResult{syncErr: errClosing})
		return
	}
	late := s.collect(calls, collect.C)
	s.evaluateAndDeliver(calls, late)
}

// collect waits until every call has submitted or the proposal window ends;
// it cancels and returns the calls that did not make it.
func (s *synchronizer) collect(calls []*call, deadline <-chan time.Time) map[*call]bool {
	late := make(map[*call]bool)
	expired := false
	for _, cl := range calls {
		if !expired {
			select {
			case <-cl.submitted:
				continue
			case <-deadline:
				expired = true
			case <-s.base.Done():
				expired = true
			}
		}
		select {
		case <-cl.submitted:
		default:
			late[cl] = true
			cl.cancel()
		}
	}
	return late
}

func deliverAll(calls []*call, r fetchResult) {
	for _, cl := range calls {
		cl.result <- r
	}
}
