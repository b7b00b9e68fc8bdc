// Package players simulates players of the examples' game: each creates a
// ticket through the Open-Match frontend and waits for its assignment with
// the SDK's resuming watch.
package players

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/progress"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Sim runs simulated players.
type Sim struct {
	Frontend *omclient.Frontend
	Players  int
	// Rate is how many players arrive per second; zero means all at once.
	Rate float64
	// Seed makes the players' regions and skills reproducible.
	Seed uint64
	// Counters, when set, receive tickets created and assignments seen.
	Counters *progress.Counters
	// OnResult, when set, is called (from many goroutines) as each player
	// finishes.
	OnResult func(Result)
}

// Result is what happened to one player.
type Result struct {
	Ticket     *pb.Ticket // as created (id, search fields); nil if creation failed
	Assignment *pb.Assignment
	// Latency is from CreateTicket returning to the watch seeing the
	// assignment.
	Latency time.Duration
	Err     error
}

// Run starts every player, Rate per second, and waits until each is assigned
// or failed. It returns every result, in arrival order, and an error naming
// how many players were not assigned and the first reason.
func (s *Sim) Run(ctx context.Context) ([]Result, error) {
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed^0x9e3779b97f4a7c15))
	results := make([]Result, s.Players)
	var wg sync.WaitGroup
	start := time.Now()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i := range s.Players {
		if !s.arrive(ctx, timer, start, i) {
			for j := i; j < s.Players; j++ {
				results[j] = Result{Err: fmt.Errorf("not started: %w", context.Cause(ctx))}
			}
			break
		}
		t := game.NewTicket(rng)
		wg.Go(func() {
			results[i] = s.play(ctx, t)
			if s.OnResult != nil {
				s.OnResult(results[i])
			}
		})
	}
	wg.Wait()
	return results, summarize(results)
}

// arrive waits until player i's arrival time; it reports false if ctx ended.
func (s *Sim) arrive(ctx context.Context, timer *time.Timer, start time.Time, i int) bool {
	if s.Rate <= 0 {
		return ctx.Err() == nil
	}
	at := start.Add(time.Duration(float64(i) / s.Rate * float64(time.Second)))
	timer.Reset(time.Until(at))
	select {
	case <-timer.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// play creates one ticket and watches it until it has a game server.
func (s *Sim) play(ctx context.Context, t *pb.Ticket) Result {
	created, err := s.Frontend.CreateTicket(ctx, t)
	if err != nil {
		return Result{Err: fmt.Errorf("create ticket: %w", err)}
	}
	born := time.Now()
	if s.Counters != nil {
		s.Counters.Created.Add(1)
	}
	for a, err := range s.Frontend.WatchAssignments(ctx, created.GetId()) {
		if err != nil {
			return Result{Ticket: created, Err: fmt.Errorf("watch ticket %s: %w", created.GetId(), err)}
		}
		if a.GetConnection() == "" {
			continue
		}
		if s.Counters != nil {
			s.Counters.Assigned.Add(1)
		}
		return Result{Ticket: created, Assignment: a, Latency: time.Since(born)}
	}
	return Result{Ticket: created, Err: fmt.Errorf("watch ticket %s: ended without an assignment", created.GetId())}
}

func summarize(results []Result) error {
	var failed int
	var first error
	for _, r := range results {
		if r.Err != nil {
			failed++
			if first == nil {
				first = r.Err
			}
		}
	}
	if failed == 0 {
		return nil
	}
	return fmt.Errorf("players: %d of %d players not assigned, first: %w", failed, len(results), first)
}

// Latencies returns the latencies of the assigned players.
func Latencies(results []Result) []time.Duration {
	var out []time.Duration
	for _, r := range results {
		if r.Err == nil {
			out = append(out, r.Latency)
		}
	}
	return out
}
