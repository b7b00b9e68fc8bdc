package omtest

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// backfillEntry is one stored backfill. Like tickets, the *pb.Backfill is
// replaced, never modified, once stored.
type backfillEntry struct {
	backfill *pb.Backfill
	lastAck  time.Time
	tickets  []string // attached ticket ids
}

func backfillNotFound(id string) error {
	return status.Errorf(codes.NotFound, "Backfill id: %s not found", id)
}

// expiredLocked reports whether b went unacknowledged for longer than the
// backfill TTL (0.8 × pendingRelease).
func (s *store) expiredLocked(b *backfillEntry, now time.Time) bool {
	return now.After(b.lastAck.Add(s.backfillTTL))
}

// newBackfillLocked stores a copy of in with a new id, create_time and
// generation 1, acknowledged now, with tickets attached.
func (s *store) newBackfillLocked(in *pb.Backfill, tickets []string, now time.Time) *pb.Backfill {
	b := proto.Clone(in).(*pb.Backfill)
	b.Id = s.ids.next(now)
	b.CreateTime = timestamppb.New(now)
	b.Generation = 1
	s.backfills[b.Id] = &backfillEntry{backfill: b, lastAck: now, tickets: tickets}
	return b
}

func (s *store) createBackfill(in *pb.Backfill) *pb.Backfill {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.newBackfillLocked(in, nil, s.clock.Now())
	return b
}

func (s *store) getBackfill(id string) (*pb.Backfill, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.backfills[id]
	if e == nil {
		return nil, backfillNotFound(id)
	}
	return e.backfill, nil
}

// updateBackfill is the frontend update: it replaces the user fields, bumps
// the generation and frees the attached tickets.
func (s *store) updateBackfill(in *pb.Backfill) (*pb.Backfill, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.backfills[in.GetId()]
	if e == nil {
		return nil, backfillNotFound(in.GetId())
	}
	if s.expiredLocked(e, s.clock.Now()) {
		return nil, status.Errorf(codes.Unavailable, "can not update an expired backfill, id: %s", in.GetId())
	}
	b := proto.Clone(e.backfill).(*pb.Backfill)
	b.SearchFields = cloneSearchFields(in.GetSearchFields())
	b.Extensions = cloneAnyMap(in.GetExtensions())
	b.PersistentField = cloneAnyMap(in.GetPersistentField())
	b.Generation++
	for _, id := range e.tickets {
		delete(s.pending, id)
	}
	s.backfills[b.Id] = &backfillEntry{backfill: b, lastAck: e.lastAck}
	return b, nil
}

// acknowledgeBackfill refreshes the backfill's TTL and assigns a to every
// attached ticket, returning the tickets it assigned.
func (s *store) acknowledgeBackfill(id string, a *pb.Assignment) (*pb.Backfill, []*pb.Ticket, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.backfills[id]
	if e == nil {
		return nil, nil, backfillNotFound(id)
	}
	now := s.clock.Now()
	if s.expiredLocked(e, now) {
		return nil, nil, status.Errorf(codes.Unavailable, "can not acknowledge an expired backfill, id: %s", id)
	}
	assigned, _ := s.assignLocked(e.tickets, a, now)
	s.backfills[id] = &backfillEntry{backfill: e.backfill, lastAck: now}
	return e.backfill, assigned, nil
}

func (s *store) deleteBackfill(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deleteBackfillLocked(id)
}

func (s *store) deleteBackfillLocked(id string) {
	if e := s.backfills[id]; e != nil {
		for _, t := range e.tickets {
			delete(s.pending, t)
		}
	}
	delete(s.backfills, id)
}

// activeBackfills returns the non-expired backfills that keep accepts.
func (s *store) activeBackfills(keep func(*pb.Backfill) bool) []*pb.Backfill {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	var out []*pb.Backfill
	for _, e := range s.backfills {
		if !s.expiredLocked(e, now) && keep(e.backfill) {
			out = append(out, e.backfill)
		}
	}
	return out
}

// applyMatchBackfillLocked handles the backfill of an accepted match, as the
// backend does after evaluation. A match without a backfill is kept as is. An
// empty id creates a backfill with the match's tickets attached and writes
// the new id, create_time and generation into m. An existing id with the
// stored generation copies search_fields and extensions, bumps the generation
// and attaches the tickets. A missing backfill or a generation mismatch drops
// the match (keep=false) and releases its tickets.
func (s *store) applyMatchBackfillLocked(m *pb.Match, now time.Time) (keep bool) {
	in := m.GetBackfill()
	if in == nil {
		return true
	}
	ids := ticketIDs(m)
	if in.GetId() == "" {
		stored := s.newBackfillLocked(in, ids, now)
		in.Id, in.CreateTime, in.Generation = stored.Id, stored.CreateTime, stored.Generation
		return true
	}
	e := s.backfills[in.GetId()]
	if e == nil || e.backfill.GetGeneration() != in.GetGeneration() {
		for _, id := range ids {
			delete(s.pending, id)
		}
		return false
	}
	b := proto.Clone(e.backfill).(*pb.Backfill)
	b.SearchFields = cloneSearchFields(in.GetSearchFields())
	b.Extensions = cloneAnyMap(in.GetExtensions())
	b.Generation++
	attached := append(append([]string(nil), e.tickets...), ids...)
	s.backfills[b.Id] = &backfillEntry{backfill: b, lastAck: e.lastAck, tickets: attached}
	return true
}

func ticketIDs(m *pb.Match) []string {
	ids := make([]string, 0, len(m.GetTickets()))
	for _, t := range m.GetTickets() {
		ids = append(ids, t.GetId())
	}
	return ids
}

func cloneSearchFields(sf *pb.SearchFields) *pb.SearchFields {
	if sf == nil {
		return nil
	}
	return proto.Clone(sf).(*pb.SearchFields)
}

func cloneAnyMap(m map[string]*anypb.Any) map[string]*anypb.Any {
	if m == nil {
		return nil
	}
	out := make(map[string]*anypb.Any, len(m))
	for k, v := range m {
		out[k] = proto.Clone(v).(*anypb.Any)
	}
	return out
}
