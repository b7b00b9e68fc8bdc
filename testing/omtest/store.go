package omtest

import (
	"sync"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// ticketEntry is one stored ticket. The *pb.Ticket is never modified once
// stored: a change stores a new copy, so readers may hand it to gRPC without
// holding the lock.
type ticketEntry struct {
	ticket   *pb.Ticket
	enc      []byte    // ticket's encoding (nil if it failed), as the wire cache holds it
	indexed  bool      // in the active index (false once assigned)
	deleteAt time.Time // set when assigned; the record disappears then
}

// store is the state shared by the three services. A change to a ticket's
// assignment or existence closes that ticket's watch channel, which wakes its
// watchers (push, not polling); a clock jump wakes every watcher.
type store struct {
	clock          Clock
	clockNotifies  bool // the clock wakes the store when it jumps
	pendingRelease time.Duration
	assignedDelete time.Duration
	backfillTTL    time.Duration
	ids            *idGen
	wire           wireCache // encodings of the stored tickets

	mu        sync.RWMutex // read-locked only by activeTickets, which changes nothing
	tickets   map[string]ticketEntry
	pending   map[string]time.Time // ticket id → when it became pending
	assigned  map[string]struct{}  // ids of tickets with a deleteAt
	backfills map[string]*backfillEntry
	watch     map[string]chan struct{} // ticket id → closed on its next change
	recs      map[string]*TicketRecord // every ticket ever stored; nil unless Config.TicketRecords
}

func newStore(cfg Config) *store {
	return &store{
		clock:          cfg.Clock,
		clockNotifies:  isNotifier(cfg.Clock),
		pendingRelease: cfg.PendingReleaseTimeout,
		assignedDelete: cfg.AssignedDeleteTimeout,
		backfillTTL:    cfg.PendingReleaseTimeout * 8 / 10,
		ids:            newIDGen(),
		tickets:        make(map[string]ticketEntry),
		pending:        make(map[string]time.Time),
		assigned:       make(map[string]struct{}),
		backfills:      make(map[string]*backfillEntry),
		watch:          make(map[string]chan struct{}),
		recs:           newRecords(cfg.TicketRecords),
	}
}

func newRecords(on bool) map[string]*TicketRecord {
	if !on {
		return nil
	}
	return make(map[string]*TicketRecord)
}

// notifyLocked wakes every watcher, so that each re-evaluates its ticket
// (after a clock jump or a sweep).
func (s *store) notifyLocked() {
	for id, ch := range s.watch {
		close(ch)
		delete(s.watch, id)
	}
}

// notifyTicketLocked wakes the watchers of ticket id.
func (s *store) notifyTicketLocked(id string) {
	if ch, ok := s.watch[id]; ok {
		close(ch)
		delete(s.watch, id)
	}
}

// watchLocked returns the channel closed on the next change of ticket id.
func (s *store) watchLocked(id string) <-chan struct{} {
	ch, ok := s.watch[id]
	if !ok {
		ch = make(chan struct{})
		s.watch[id] = ch
	}
	return ch
}

// wake re-evaluates time-based state for watchers, e.g. after a clock jump.
func (s *store) wake() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.notifyLocked()
}

// ticketLocked returns the live entry for id, dropping it if its
// assigned-delete time has passed; ok is false when there is none.
func (s *store) ticketLocked(id string, now time.Time) (e ticketEntry, ok bool) {
	e, ok = s.tickets[id]
	if !ok {
		return e, false
	}
	if !e.deleteAt.IsZero() && !now.Before(e.deleteAt) {
		if r := s.recordLocked(id); r != nil {
			r.Expired = true
		}
		s.removeTicketLocked(id)
		return ticketEntry{}, false
	}
	return e, true
}

func (s *store) removeTicketLocked(id string) {
	s.notifyTicketLocked(id)
	if e, ok := s.tickets[id]; ok {
		s.wire.drop(e.ticket)
	}
	delete(s.tickets, id)
	delete(s.pending, id)
	delete(s.assigned, id)
}

// pendingLocked reports whether id is hidden from queries because a match
// holding it was returned less than pendingRelease ago.
func (s *store) pendingLocked(id string, now time.Time) bool {
	at, ok := s.pending[id]
	return ok && !now.After(at.Add(s.pendingRelease))
}

// createTicket stores t, which the store owns from now on: the caller
// hands over a ticket nobody else holds (a request gRPC decoded for this
// call), so no copy is made. It sets id and create_time, encodes the ticket
// once for every later response that carries it, and returns it.
func (s *store) createTicket(t *pb.Ticket) *pb.Ticket {
	now := s.clock.Now()
	t.Id = s.ids.next(now)
	t.CreateTime = timestamppb.New(now)
	enc := s.wire.add(t)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tickets[t.Id] = ticketEntry{ticket: t, enc: enc, indexed: true}
	if s.recs != nil {
		s.recs[t.Id] = &TicketRecord{ID: t.Id, Created: now}
	}
	return t
}

func (s *store) getTicket(id string) *pb.Ticket {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.ticketLocked(id, s.clock.Now()); ok {
		return e.ticket
	}
	return nil
}

func (s *store) deleteTicket(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.ticketLocked(id, s.clock.Now()); !ok {
		return
	}
	if r := s.recordLocked(id); r != nil {
		r.Deleted = true
	}
	s.removeTicketLocked(id)
}

// activeTickets returns the indexed, non-pending tickets that keep accepts.
func (s *store) activeTickets(keep func(*pb.Ticket) bool) []*pb.Ticket {
	ts, _ := s.active(keep, false)
	return ts
}

// active returns the indexed, non-pending tickets that keep accepts and,
// when withEnc is set, their encodings (the same index in both).
func (s *store) active(keep func(*pb.Ticket) bool, withEnc bool) ([]*pb.Ticket, [][]byte) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	now := s.clock.Now()
	n := len(s.tickets) - len(s.assigned)
	out := make([]*pb.Ticket, 0, n)
	var encs [][]byte
	if withEnc {
		encs = make([][]byte, 0, n)
	}
	anyPending := len(s.pending) > 0
	for id, e := range s.tickets {
		if !e.indexed || (anyPending && s.pendingLocked(id, now)) || !keep(e.ticket) {
			continue
		}
		out = append(out, e.ticket)
		if withEnc {
			encs = append(encs, e.enc)
		}
	}
	return out, encs
}

// markPendingLocked hides ids from queries for pendingRelease from now.
func (s *store) markPendingLocked(ids []string, now time.Time) {
	for _, id := range ids {
		s.pending[id] = now
	}
}

func (s *store) release(ids []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if _, ok := s.pending[id]; ok {
			if r := s.recordLocked(id); r != nil {
				r.Releases++
			}
		}
		delete(s.pending, id)
	}
}

func (s *store) releaseAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id := range s.pending {
		if r := s.recordLocked(id); r != nil {
			r.Releases++
		}
	}
	clear(s.pending)
}

// assignLocked writes a onto every existing ticket of ids, de-indexes them and
// takes them out of pending. It returns the updated tickets and the ids that
// were not found.
func (s *store) assignLocked(ids []string, a *pb.Assignment, now time.Time) (done []*pb.Ticket, missing []string) {
	for _, id := range ids {
		e, ok := s.ticketLocked(id, now)
		if !ok {
			missing = append(missing, id)
			continue
		}
		s.wire.drop(e.ticket)
		t := proto.Clone(e.ticket).(*pb.Ticket)
		t.Assignment = proto.Clone(a).(*pb.Assignment)
		s.tickets[id] = ticketEntry{ticket: t, deleteAt: now.Add(s.assignedDelete)}
		s.assigned[id] = struct{}{}
		if r := s.recordLocked(id); r != nil {
			r.Assignments++
			r.Connection = a.GetConnection()
		}
		delete(s.pending, id)
		s.notifyTicketLocked(id)
		done = append(done, t)
	}
	return done, missing
}

// assign applies every group and returns the ids that were not found.
func (s *store) assign(groups []*pb.AssignmentGroup) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	var missing []string
	for _, g := range groups {
		_, m := s.assignLocked(g.GetTicketIds(), g.GetAssignment(), now)
		missing = append(missing, m...)
	}
	return missing
}

// watchState returns the ticket (nil when gone), a channel closed on the next
// change, and when the ticket will expire (zero if never).
func (s *store) watchState(id string) (*pb.Ticket, <-chan struct{}, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.ticketLocked(id, s.clock.Now())
	if !ok {
		return nil, nil, time.Time{}
	}
	return e.ticket, s.watchLocked(id), e.deleteAt
}

// sweep drops expired assigned tickets, stale pending entries and expired
// backfills (releasing the tickets attached to them).
func (s *store) sweep() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for id := range s.assigned {
		s.ticketLocked(id, now)
	}
	for id, at := range s.pending {
		if now.After(at.Add(s.pendingRelease)) {
			delete(s.pending, id)
		}
	}
	for id, b := range s.backfills {
		if s.expiredLocked(b, now) {
			s.deleteBackfillLocked(id)
		}
	}
	s.notifyLocked()
}

func isNotifier(c Clock) bool {
	_, ok := c.(advanceNotifier)
	return ok
}

// commitMatch makes an accepted match's tickets pending and applies its
// backfill; false means the match is dropped (stale backfill).
func (s *store) commitMatch(m *pb.Match) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.markPendingLocked(ticketIDs(m), now)
	return s.applyMatchBackfillLocked(m, now)
}

// queryPools returns the active tickets of each pool by pool name, as
// QueryPools over the QueryService would.
func (s *store) queryPools(pools []*pb.Pool) (map[string][]*pb.Ticket, error) {
	out := make(map[string][]*pb.Ticket, len(pools))
	for _, p := range pools {
		f, err := poolFilterOf(p)
		if err != nil {
			return nil, err
		}
		out[p.GetName()] = s.activeTickets(f.ticket)
	}
	return out, nil
}

// reset forgets every ticket, backfill and pending entry, like flushing
// Open-Match's Redis; watchers of the forgotten tickets end with NotFound.
func (s *store) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.tickets)
	s.wire.clear()
	clear(s.pending)
	clear(s.assigned)
	clear(s.backfills)
	if s.recs != nil {
		clear(s.recs)
	}
	s.notifyLocked()
}
