package omtest

import (
	"cmp"
	"slices"
	"time"
)

// TicketRecord is the core's own account of one ticket, kept from its
// creation on whatever its clients saw: what a soak or a test compares with
// what its clients believe happened (a ticket created twice by a retried
// CreateTicket, a ticket no client knows, an assignment no watch saw).
// Records are kept only with Config.TicketRecords (WithTicketRecords).
type TicketRecord struct {
	ID      string
	Created time.Time // create_time, on the core's clock
	// Assignments counts the AssignTickets calls (and backfill
	// acknowledgements) that wrote an assignment onto the ticket;
	// Connection is the last one's connection.
	Assignments int
	Connection  string
	// Releases counts the ReleaseTickets and ReleaseAllTickets calls that
	// returned the ticket to the pool while a match held it.
	Releases int
	Deleted  bool // removed by DeleteTicket
	Expired  bool // removed AssignedDeleteTimeout after its assignment
}

// Stored reports whether the core still holds the ticket.
func (r TicketRecord) Stored() bool { return !r.Deleted && !r.Expired }

// WithTicketRecords makes the core keep a TicketRecord of every ticket it
// stores (see Server.TicketRecords). It costs one small record per ticket
// ever created, kept until Reset.
func WithTicketRecords() Option {
	return optionFunc(func(cfg *Config) { cfg.TicketRecords = true })
}

// TicketRecords returns the record of every ticket created since the core
// started (or since Reset), oldest first; nil unless the core was started
// with Config.TicketRecords.
func (s *Server) TicketRecords() []TicketRecord {
	return s.store.records()
}

// records returns a copy of the records, oldest first.
func (s *store) records() []TicketRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.recs == nil {
		return nil
	}
	out := make([]TicketRecord, 0, len(s.recs))
	for _, r := range s.recs {
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b TicketRecord) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// recordLocked returns the record of id, or nil when records are off or id was
// never stored.
func (s *store) recordLocked(id string) *TicketRecord {
	if s.recs == nil {
		return nil
	}
	return s.recs[id]
}
