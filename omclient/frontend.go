package omclient

import (
	"context"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Frontend is the Open-Match FrontendService client used by game frontends and
// game servers: tickets, assignment watches and backfills.
type Frontend struct {
	raw pb.FrontendServiceClient
	s   settings
}

// NewFrontend returns a Frontend over cc. When cc is a *Conn, its retry
// policy, watch grace and logger apply.
func NewFrontend(cc grpc.ClientConnInterface) *Frontend {
	cc = usable("NewFrontend", cc)
	return &Frontend{raw: pb.NewFrontendServiceClient(cc), s: settingsFor(cc)}
}

// DialFrontend connects to the frontend at addr (FrontendAddr(addr) picks the
// default when addr is empty). Close releases the connection.
func DialFrontend(addr string, opts ...Option) (*Frontend, error) {
	addr, hint := dialAddr(addr, envFrontendAddr, defaultFrontendAddr)
	c, err := NewConn(addr, append(opts, hint)...)
	if err != nil {
		return nil, err
	}
	f := NewFrontend(c)
	f.s.owned = c
	return f, nil
}

// Close closes the connection if DialFrontend made it; otherwise it does nothing.
func (f *Frontend) Close() error { return f.s.close() }

// Decision reports which strategy the connection uses, why and since when
// (see Conn.Decision). A Frontend made over a connection that is not a *Conn
// reports an empty Strategy.
func (f *Frontend) Decision() balancer.Decision { return f.s.decision() }

// Raw returns the generated client, for calls without the SDK's retry rules.
func (f *Frontend) Raw() pb.FrontendServiceClient { return f.raw }

// CreateTicket stores a new ticket and returns it with its server-chosen id and
// create time. It is never retried once the request may have reached the
// server, because a retry could create a second ticket: the SDK does not
// retry it, and it asks a sidecar proxy not to (x-envoy-max-retries: 0). The
// same holds for CreateBackfill, UpdateBackfill and AcknowledgeBackfill.
func (f *Frontend) CreateTicket(ctx context.Context, t *pb.Ticket) (*pb.Ticket, error) {
	if t == nil {
		return nil, invalidArg("create ticket", "ticket is required")
	}
	got, err := f.raw.CreateTicket(once(ctx), &pb.CreateTicketRequest{Ticket: t})
	return got, wrap("create ticket", err)
}

// GetTicket reads a ticket, including its assignment. Retried on Unavailable.
func (f *Frontend) GetTicket(ctx context.Context, id string) (*pb.Ticket, error) {
	if id == "" {
		return nil, invalidArg("get ticket", "ticket id is required")
	}
	req := &pb.GetTicketRequest{TicketId: id}
	t, err := retry(ctx, f.s.retry, func(ctx context.Context) (*pb.Ticket, error) {
		return f.raw.GetTicket(ctx, req)
	})
	return t, wrap("get ticket "+id, err)
}

// DeleteTicket takes a ticket out of matchmaking. Deleting an unknown id
// succeeds. Retried on Unavailable.
func (f *Frontend) DeleteTicket(ctx context.Context, id string) error {
	if id == "" {
		return invalidArg("delete ticket", "ticket id is required")
	}
	req := &pb.DeleteTicketRequest{TicketId: id}
	_, err := retry(ctx, f.s.retry, func(ctx context.Context) (any, error) {
		return f.raw.DeleteTicket(ctx, req)
	})
	return wrap("delete ticket "+id, err)
}

// CreateBackfill stores a new backfill (beta). Never retried by the SDK.
func (f *Frontend) CreateBackfill(ctx context.Context, b *pb.Backfill) (*pb.Backfill, error) {
	if b == nil {
		return nil, invalidArg("create backfill", "backfill is required")
	}
	got, err := f.raw.CreateBackfill(once(ctx), &pb.CreateBackfillRequest{Backfill: b})
	return got, wrap("create backfill", err)
}

// GetBackfill reads a backfill (beta). Retried on Unavailable.
func (f *Frontend) GetBackfill(ctx context.Context, id string) (*pb.Backfill, error) {
	if id == "" {
		return nil, invalidArg("get backfill", "backfill id is required")
	}
	req := &pb.GetBackfillRequest{BackfillId: id}
	b, err := retry(ctx, f.s.retry, func(ctx context.Context) (*pb.Backfill, error) {
		return f.raw.GetBackfill(ctx, req)
	})
	return b, wrap("get backfill "+id, err)
}

// DeleteBackfill removes a backfill and frees its tickets (beta). Retried on
// Unavailable.
func (f *Frontend) DeleteBackfill(ctx context.Context, id string) error {
	if id == "" {
		return invalidArg("delete backfill", "backfill id is required")
	}
	req := &pb.DeleteBackfillRequest{BackfillId: id}
	_, err := retry(ctx, f.s.retry, func(ctx context.Context) (any, error) {
		return f.raw.DeleteBackfill(ctx, req)
	})
	return wrap("delete backfill "+id, err)
}

// UpdateBackfill replaces a backfill's search fields and extensions and bumps
// its generation (beta). Never retried by the SDK: a retry would bump the
// generation twice.
func (f *Frontend) UpdateBackfill(ctx context.Context, b *pb.Backfill) (*pb.Backfill, error) {
	if b == nil {
		return nil, invalidArg("update backfill", "backfill is required")
	}
	got, err := f.raw.UpdateBackfill(once(ctx), &pb.UpdateBackfillRequest{Backfill: b})
	return got, wrap("update backfill "+b.GetId(), err)
}

// AcknowledgeBackfill keeps a backfill alive and assigns its attached tickets
// to a (beta). Never retried by the SDK.
func (f *Frontend) AcknowledgeBackfill(ctx context.Context, id string, a *pb.Assignment) (*pb.AcknowledgeBackfillResponse, error) {
	if id == "" {
		return nil, invalidArg("acknowledge backfill", "backfill id is required")
	}
	if a == nil {
		return nil, invalidArg("acknowledge backfill", "assignment is required")
	}
	resp, err := f.raw.AcknowledgeBackfill(once(ctx), &pb.AcknowledgeBackfillRequest{BackfillId: id, Assignment: a})
	return resp, wrap("acknowledge backfill "+id, err)
}
