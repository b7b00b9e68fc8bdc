package main

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/examples/internal/director"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/timeseries"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// ticket is what the players know of one ticket they created.
type ticket struct {
	created  time.Time
	seen     string    // the connection the watch saw; "" if none
	seenAt   time.Time // when
	deleted  bool      // DeleteTicket succeeded
	gaveUp   bool      // the player stopped waiting (patience, drain or interrupt)
	watchErr error     // how the watch ended, when it ended without an assignment
}

// ledger is the clients' side of the counts: every ticket a player
// created, what its watch saw, and what the director assigned.
type ledger struct {
	mu           sync.Mutex
	tickets      map[string]*ticket
	createFailed int               // CreateTicket calls that returned an error
	assigned     map[string]string // ticket id → connection, from successful AssignTickets
	assignedAt   map[string]time.Time
	waiting      int // players between creating and finishing
}

func newLedger() *ledger {
	return &ledger{tickets: map[string]*ticket{}, assigned: map[string]string{}, assignedAt: map[string]time.Time{}}
}

func (l *ledger) update(id string, f func(*ticket)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.tickets[id]
	if t == nil {
		t = &ticket{}
		l.tickets[id] = t
	}
	f(t)
}

// onAssigned records the tickets of a successful AssignTickets call, less
// those the backend reported as failed.
func (l *ledger) onAssigned(groups []*pb.AssignmentGroup, failures []*pb.AssignmentFailure) {
	failed := map[string]bool{}
	for _, f := range failures {
		failed[f.GetTicketId()] = true
	}
	now := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, g := range groups {
		for _, id := range g.GetTicketIds() {
			if !failed[id] {
				l.assigned[id] = g.GetAssignment().GetConnection()
				l.assignedAt[id] = now
			}
		}
	}
}

// calls times every call the players and the director make, as the
// application sees it (after the SDK's retries), into the time series.
type calls struct {
	rec  *timeseries.Recorder
	fail *failedCalls
}

func (c calls) observe(rpc string, start time.Time, err error) {
	now := time.Now()
	code := status.Code(err)
	c.rec.Observe(now, rpc, code, now.Sub(start))
	if err != nil {
		c.fail.mu.Lock()
		c.fail.list = append(c.fail.list, failedCall{at: now, rpc: rpc, code: code})
		c.fail.mu.Unlock()
	}
}

func (c calls) failed() []failedCall {
	c.fail.mu.Lock()
	defer c.fail.mu.Unlock()
	return slices.Clone(c.fail.list)
}

// players creates tickets at rate per second until ctx ends; each player
// watches its ticket until assigned (deleting it then, as a game frontend
// does once the player joined its game server) or until patience or stop
// ends its wait, when it deletes the ticket. Wait returns when every
// player has finished.
type players struct {
	fe       *omclient.Frontend
	rate     float64
	seed     uint64
	patience time.Duration
	calls    calls
	ledger   *ledger
	wg       sync.WaitGroup
}

// run starts players until arrive ends; every player's wait ends at the
// latest when stop ends.
func (p *players) run(arrive, stop context.Context) {
	rng := rand.New(rand.NewPCG(p.seed, p.seed^0x9e3779b97f4a7c15))
	start := time.Now()
	t := time.NewTimer(0)
	defer t.Stop()
	for i := 0; ; i++ {
		at := start.Add(time.Duration(float64(i) / p.rate * float64(time.Second)))
		t.Reset(time.Until(at))
		select {
		case <-arrive.Done():
			return
		case <-t.C:
		}
		tk := game.NewTicket(rng)
		p.wg.Go(func() { p.play(arrive, stop, tk) })
	}
}

// createAttempts bounds how often a player tries to create its ticket.
const createAttempts = 5

// play is one player: create (trying again after a failure, as a game
// frontend would), watch, delete.
func (p *players) play(arrive, stop context.Context, tk *pb.Ticket) {
	var created *pb.Ticket
	for attempt := range createAttempts {
		if arrive.Err() != nil {
			return
		}
		// A call under way when arrivals stop still finishes.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(arrive), 10*time.Second)
		start := time.Now()
		t, err := p.fe.CreateTicket(cctx, tk)
		cancel()
		p.calls.observe("CreateTicket", start, err)
		if err == nil {
			created = t
			break
		}
		p.ledger.mu.Lock()
		p.ledger.createFailed++
		p.ledger.mu.Unlock()
		hold(arrive, time.Duration(200*(attempt+1))*time.Millisecond)
	}
	if created == nil {
		return
	}
	id := created.GetId()
	p.ledger.update(id, func(t *ticket) { t.created = time.Now() })
	p.ledger.mu.Lock()
	p.ledger.waiting++
	p.ledger.mu.Unlock()
	defer func() {
		p.ledger.mu.Lock()
		p.ledger.waiting--
		p.ledger.mu.Unlock()
	}()

	wctx, cancel := context.WithTimeout(stop, p.patience)
	defer cancel()
	conn, err := p.watch(wctx, id)
	if conn != "" {
		p.ledger.update(id, func(t *ticket) { t.seen, t.seenAt = conn, time.Now() })
	} else {
		p.ledger.update(id, func(t *ticket) { t.gaveUp, t.watchErr = true, err })
	}
	p.delete(id)
}

// watch waits for the ticket's assignment; it returns its connection, or
// "" and why not. A watch counts as one call; its latency is from the
// director's AssignTickets returning to the watch seeing the assignment
// (0 when the watch saw it first), not the player's whole wait.
func (p *players) watch(ctx context.Context, id string) (string, error) {
	for a, err := range p.fe.WatchAssignments(ctx, id) {
		if err != nil {
			if ctx.Err() == nil {
				p.calls.observe("WatchAssignments", time.Now(), err)
			}
			return "", err
		}
		if a.GetConnection() != "" {
			now := time.Now()
			p.ledger.mu.Lock()
			at, ok := p.ledger.assignedAt[id]
			p.ledger.mu.Unlock()
			if !ok || at.After(now) {
				at = now
			}
			p.calls.observe("WatchAssignments", at, nil)
			return a.GetConnection(), nil
		}
	}
	return "", errors.New("watch ended without an assignment")
}

// deleteBound bounds a player's attempts to delete its ticket.
const deleteBound = 30 * time.Second

// delete deletes the ticket, trying again within deleteBound (the SDK
// retries Unavailable within each call; the player tries again after any
// other failure).
func (p *players) delete(id string) {
	ctx, cancel := context.WithTimeout(context.Background(), deleteBound)
	defer cancel()
	for ctx.Err() == nil {
		cctx, c2 := context.WithTimeout(ctx, 5*time.Second)
		start := time.Now()
		err := p.fe.DeleteTicket(cctx, id)
		c2()
		p.calls.observe("DeleteTicket", start, err)
		if err == nil || status.Code(err) == codes.NotFound {
			p.ledger.update(id, func(t *ticket) { t.deleted = err == nil })
			return
		}
		hold(ctx, 200*time.Millisecond)
	}
}

// newDirector is the run's director: every profile of the game each round,
// a fake allocator that fails every failEvery-th allocation (so tickets
// are released), every call timed and every assignment recorded.
func newDirector(be *omclient.Backend, fn *pb.FunctionConfig, failEvery int64, c calls, l *ledger) *director.Director {
	return &director.Director{
		Backend:     be,
		Function:    fn,
		Profiles:    game.Profiles(),
		Allocator:   &director.FakeAllocator{FailEvery: failEvery},
		Interval:    100 * time.Millisecond,
		CallTimeout: 30 * time.Second,
		Observe:     c.observe,
		OnAssigned:  l.onAssigned,
	}
}
