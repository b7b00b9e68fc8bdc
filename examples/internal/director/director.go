// Package director is the loop a game backend runs against Open-Match:
// fetch matches for every profile, give each match a game server, assign its
// tickets there, and hand back the tickets of matches that got no server.
package director

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/progress"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// DefaultCallTimeout bounds the calls of one round when CallTimeout is zero.
const DefaultCallTimeout = 10 * time.Second

// Director fetches, allocates, assigns and releases, round after round.
type Director struct {
	Backend   *omclient.Backend
	Function  *pb.FunctionConfig // where the backend reaches the match function
	Profiles  []*pb.MatchProfile // fetched concurrently every round
	Allocator Allocator          // finds game servers
	Interval  time.Duration      // pause between the end of a round and the next
	Rounds    int                // rounds to run; 0 means until the context ends
	// CallTimeout bounds each round's FetchMatches calls and, separately,
	// its assign and release calls. Zero means DefaultCallTimeout.
	CallTimeout time.Duration
	// Counters, when set, receive the tickets matched and released and the
	// rounds completed.
	Counters *progress.Counters
	// Log, when set, receives one line per profile that failed in a round
	// that went on.
	Log io.Writer
	// OnRound, when set, is called after each completed round with its
	// number and stats.
	OnRound func(n int, st Stats)
	// Observe, when set, is called (from many goroutines) after each
	// FetchMatches, AssignTickets and ReleaseTickets call with the RPC's
	// name, when it started and its error (nil on success).
	Observe func(rpc string, start time.Time, err error)
	// OnAssigned, when set, is called (from many goroutines) after each
	// successful AssignTickets call with its groups and the failures the
	// backend reported.
	OnAssigned func(groups []*pb.AssignmentGroup, failures []*pb.AssignmentFailure)
}

// observe reports one call to Observe.
func (d *Director) observe(rpc string, start time.Time, err error) {
	if d.Observe != nil {
		d.Observe(rpc, start, err)
	}
}

// Stats are the totals of a director's rounds.
type Stats struct {
	Rounds          int
	Matches         int // matches received from FetchMatches
	Assigned        int // tickets assigned to a game server
	Released        int // tickets released because no server was found
	AllocFailures   int // matches that got no game server
	MissingTickets  int // tickets AssignTickets did not find (deleted meanwhile)
	ProfileFailures int // FetchMatches calls that failed
}

func (s *Stats) add(o Stats) {
	s.Rounds += o.Rounds
	s.Matches += o.Matches
	s.Assigned += o.Assigned
	s.Released += o.Released
	s.AllocFailures += o.AllocFailures
	s.MissingTickets += o.MissingTickets
	s.ProfileFailures += o.ProfileFailures
}

// Run runs rounds until Rounds are done or ctx ends, which is a clean stop:
// the round in flight still assigns or releases what it fetched. It returns
// an error when every profile of a round failed, so that a supervisor can
// restart the director; failures of some profiles are written to Log and the
// loop goes on.
func (d *Director) Run(ctx context.Context) (Stats, error) {
	var total Stats
	timer := time.NewTimer(0)
	defer timer.Stop()
	for n := 1; d.Rounds == 0 || n <= d.Rounds; n++ {
		st, err := d.Round(ctx)
		total.add(st)
		if ctx.Err() != nil {
			return total, nil
		}
		if err != nil {
			return total, fmt.Errorf("director: round %d: %w", n, err)
		}
		if d.Counters != nil {
			d.Counters.Rounds.Add(1)
		}
		if d.OnRound != nil {
			d.OnRound(n, st)
		}
		timer.Reset(d.Interval)
		select {
		case <-timer.C:
		case <-ctx.Done():
			return total, nil
		}
	}
	return total, nil
}

// Round fetches matches for every profile concurrently and assigns or
// releases each. It returns an error only when every profile failed.
func (d *Director) Round(ctx context.Context) (Stats, error) {
	var (
		mu    sync.Mutex
		total = Stats{Rounds: 1}
		errs  []error
		wg    sync.WaitGroup
	)
	for _, p := range d.Profiles {
		wg.Go(func() {
			st, err := d.profile(ctx, p)
			mu.Lock()
			defer mu.Unlock()
			total.add(st)
			if err != nil {
				total.ProfileFailures++
				errs = append(errs, fmt.Errorf("profile %s: %w", p.GetName(), err))
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 && len(errs) == len(d.Profiles) {
		return total, fmt.Errorf("all %d profiles failed, first: %w", len(errs), errs[0])
	}
	if d.Log != nil && ctx.Err() == nil {
		for _, err := range errs {
			fmt.Fprintf(d.Log, "director: %v\n", err)
		}
	}
	return total, nil
}

func (d *Director) callTimeout() time.Duration {
	if d.CallTimeout > 0 {
		return d.CallTimeout
	}
	return DefaultCallTimeout
}

// profile runs one profile's part of a round. Matches that arrive with an
// error are still handled: their tickets are pending and would otherwise stay
// hidden until Open-Match's pending timeout.
func (d *Director) profile(ctx context.Context, p *pb.MatchProfile) (Stats, error) {
	fctx, cancel := context.WithTimeout(ctx, d.callTimeout())
	defer cancel()
	start := time.Now()
	matches, fetchErr := d.Backend.FetchMatches(fctx, d.Function, p)
	d.observe("FetchMatches", start, fetchErr)
	if len(matches) == 0 {
		return Stats{}, fetchErr
	}
	// Finish the bookkeeping even when ctx ends now: a stopping director
	// still assigns or releases what it fetched.
	actx, cancel2 := context.WithTimeout(context.WithoutCancel(ctx), d.callTimeout())
	defer cancel2()
	st, err := d.settle(actx, matches)
	return st, errors.Join(fetchErr, err)
}
