package omtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/meshmatch/meshmatch/internal/defaulteval"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// evaluator runs the configured evaluator: in process, remote, or default.
type evaluator struct {
	fn     EvaluateFunc
	target string
	dial   *dialCache
}

func (e *evaluator) evaluate(ctx context.Context, proposals []*pb.Match) (ids []string, err error) {
	switch {
	case e.fn != nil:
		defer func() {
			if r := recover(); r != nil {
				ids, err = nil, fmt.Errorf("omtest: evaluator panicked: %v", r)
			}
		}()
		return e.fn(ctx, proposals)
	case e.target != "":
		return e.remote(ctx, proposals)
	default:
		return defaulteval.Evaluate(proposals), nil
	}
}

// remote streams every proposal to the gRPC evaluator and collects the ids it
// accepts until it closes its side.
func (e *evaluator) remote(ctx context.Context, proposals []*pb.Match) ([]string, error) {
	cc, err := e.dial.get(e.target)
	if err != nil {
		return nil, fmt.Errorf("omtest: dial evaluator %s: %w", e.target, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := pb.NewEvaluatorClient(cc).Evaluate(ctx)
	if err != nil {
		return nil, fmt.Errorf("omtest: evaluate: %w", err)
	}
	var wg sync.WaitGroup
	var sendErr error
	wg.Go(func() {
		for _, m := range proposals {
			if sendErr = stream.Send(&pb.EvaluateRequest{Match: m}); sendErr != nil {
				return
			}
		}
		sendErr = stream.CloseSend()
	})
	var ids []string
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			cancel()
			wg.Wait()
			return nil, fmt.Errorf("omtest: evaluate: %w", err)
		}
		ids = append(ids, resp.GetMatchId())
	}
	wg.Wait()
	if sendErr != nil && !errors.Is(sendErr, io.EOF) {
		return nil, fmt.Errorf("omtest: evaluate: send: %w", sendErr)
	}
	return ids, nil
}

// evaluateAndDeliver evaluates the proposals of every call that submitted in
// time, makes the accepted matches' tickets pending, applies their backfills,
// cleans up expired state and hands each call its accepted matches.
func (s *synchronizer) evaluateAndDeliver(calls []*call, late map[*call]bool) {
	owner := make(map[string]*call)
	byID := make(map[string]*pb.Match)
	var proposals []*pb.Match
	var cycleErr error
	// Cleanup runs before delivery so callers see its effects when their
	// stream ends.
	s.store.sweep()
	for _, cl := range calls {
		if late[cl] {
			continue
		}
		for _, m := range cl.proposals {
			id := m.GetMatchId()
			if _, dup := owner[id]; dup && cycleErr == nil {
				cycleErr = fmt.Errorf("multiple match functions used same match_id: %q", id)
			}
			owner[id], byID[id] = cl, m
			proposals = append(proposals, m)
		}
	}
	accepted := make(map[*call][]*pb.Match)
	if cycleErr == nil && len(proposals) > 0 {
		var ids []string
		ids, cycleErr = s.eval.evaluate(s.base, proposals)
		if cycleErr == nil {
			cycleErr = checkAccepted(ids, byID)
		}
		if cycleErr == nil {
			for _, m := range s.commit(ids, byID) {
				accepted[owner[m.GetMatchId()]] = append(accepted[owner[m.GetMatchId()]], m)
			}
		}
	}
	// Cleanup runs before delivery so callers see its effects when their
	// stream ends.
	s.store.sweep()
	for _, cl := range calls {
		if late[cl] { // its proposals and errors may still be being written
			cl.result <- fetchResult{syncErr: errWindowOverrun, mmfErr: cl.ctx.Err()}
			continue
		}
		r := fetchResult{matches: accepted[cl], syncErr: cl.syncErr, mmfErr: cl.mmfErr}
		if cycleErr != nil {
			r.syncErr = cycleErr
		}
		cl.result <- r
	}
}

// checkAccepted rejects evaluator output naming unknown or repeated ids.
func checkAccepted(ids []string, byID map[string]*pb.Match) error {
	seen := make(map[string]struct{}, len(ids))
	for _, id := range ids {
		if _, ok := byID[id]; !ok {
			return fmt.Errorf("evaluator returned match_id %q that does not correspond to a proposal", id)
		}
		if _, dup := seen[id]; dup {
			return fmt.Errorf("evaluator returned match_id %q more than once", id)
		}
		seen[id] = struct{}{}
	}
	return nil
}

// commit makes the accepted matches' tickets pending and applies their
// backfills, returning the matches that survive (in evaluator order).
func (s *synchronizer) commit(ids []string, byID map[string]*pb.Match) []*pb.Match {
	st := s.store
	st.mu.Lock()
	defer st.mu.Unlock()
	now := st.clock.Now()
	out := make([]*pb.Match, 0, len(ids))
	for _, id := range ids {
		m := byID[id]
		st.markPendingLocked(ticketIDs(m), now)
		if st.applyMatchBackfillLocked(m, now) {
			out = append(out, m)
		}
	}
	return out
}
