package omclient

import (
	"context"
	"errors"
	"io"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Query is the Open-Match QueryService client used by match functions.
//
// Every query gathers all pages of its stream. When the stream breaks with a
// retryable error the query starts over from scratch: partial pages are
// dropped, never returned as if complete.
type Query struct {
	raw pb.QueryServiceClient
	s   settings
}

// NewQuery returns a Query over cc. When cc is a *Conn, its retry policy and
// logger apply.
func NewQuery(cc grpc.ClientConnInterface) *Query {
	cc = usable("NewQuery", cc)
	return &Query{raw: pb.NewQueryServiceClient(cc), s: settingsFor(cc)}
}

// DialQuery connects to the query service at addr (QueryAddr(addr) picks the
// default when addr is empty). Close releases the connection.
func DialQuery(addr string, opts ...Option) (*Query, error) {
	addr, hint := dialAddr(addr, envQueryAddr, defaultQueryAddr)
	c, err := NewConn(addr, append(opts, hint)...)
	if err != nil {
		return nil, err
	}
	q := NewQuery(c)
	q.s.owned = c
	return q, nil
}

// Close closes the connection if DialQuery made it; otherwise it does nothing.
func (q *Query) Close() error { return q.s.close() }

// Decision reports which strategy the connection uses, why and since when
// (see Conn.Decision). A Query made over a connection that is not a *Conn
// reports an empty Strategy.
func (q *Query) Decision() balancer.Decision { return q.s.decision() }

// Raw returns the generated client, for calls without the SDK's retry rules.
func (q *Query) Raw() pb.QueryServiceClient { return q.raw }

// QueryTickets returns every active ticket that passes all filters of pool.
// The result is nil when nothing matches.
func (q *Query) QueryTickets(ctx context.Context, pool *pb.Pool) ([]*pb.Ticket, error) {
	if pool == nil {
		return nil, invalidArg("query tickets", "pool is required")
	}
	req := &pb.QueryTicketsRequest{Pool: pool}
	res, err := collect(ctx, q.s.retry, func(ctx context.Context) (grpc.ServerStreamingClient[pb.QueryTicketsResponse], error) {
		return q.raw.QueryTickets(ctx, req)
	}, (*pb.QueryTicketsResponse).GetTickets)
	return res, wrap("query tickets in pool "+pool.GetName(), err)
}

// QueryTicketIds is QueryTickets returning ids only.
func (q *Query) QueryTicketIds(ctx context.Context, pool *pb.Pool) ([]string, error) {
	if pool == nil {
		return nil, invalidArg("query ticket ids", "pool is required")
	}
	req := &pb.QueryTicketIdsRequest{Pool: pool}
	res, err := collect(ctx, q.s.retry, func(ctx context.Context) (grpc.ServerStreamingClient[pb.QueryTicketIdsResponse], error) {
		return q.raw.QueryTicketIds(ctx, req)
	}, (*pb.QueryTicketIdsResponse).GetIds)
	return res, wrap("query ticket ids in pool "+pool.GetName(), err)
}

// QueryBackfills returns the live backfills that pass all filters of pool (beta).
func (q *Query) QueryBackfills(ctx context.Context, pool *pb.Pool) ([]*pb.Backfill, error) {
	if pool == nil {
		return nil, invalidArg("query backfills", "pool is required")
	}
	req := &pb.QueryBackfillsRequest{Pool: pool}
	res, err := collect(ctx, q.s.retry, func(ctx context.Context) (grpc.ServerStreamingClient[pb.QueryBackfillsResponse], error) {
		return q.raw.QueryBackfills(ctx, req)
	}, (*pb.QueryBackfillsResponse).GetBackfills)
	return res, wrap("query backfills in pool "+pool.GetName(), err)
}

// collect reads every page of a server stream, starting the stream over when
// it breaks with a retryable error.
func collect[Resp, T any](ctx context.Context, p RetryPolicy, open func(context.Context) (grpc.ServerStreamingClient[Resp], error), page func(*Resp) []T) ([]T, error) {
	return retry(ctx, p, func(ctx context.Context) ([]T, error) {
		s, err := open(ctx)
		if err != nil {
			return nil, err
		}
		var all []T
		for {
			resp, err := s.Recv()
			if errors.Is(err, io.EOF) {
				return all, nil
			}
			if err != nil {
				return nil, err
			}
			all = append(all, page(resp)...)
		}
	})
}
