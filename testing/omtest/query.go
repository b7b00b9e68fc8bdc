package omtest

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// query implements pb.QueryServiceServer over the store.
type query struct {
	pb.UnimplementedQueryServiceServer
	store    *store
	pageSize int
}

func poolFilterOf(pool *pb.Pool) (*poolFilter, error) {
	if pool == nil {
		return nil, status.Error(codes.InvalidArgument, ".pool is required")
	}
	return newPoolFilter(pool)
}

func (q *query) QueryTickets(req *pb.QueryTicketsRequest, stream grpc.ServerStreamingServer[pb.QueryTicketsResponse]) error {
	f, err := poolFilterOf(req.GetPool())
	if err != nil {
		return err
	}
	tickets, encs := q.store.active(f.ticket, true)
	sent := 0
	return sendPages(tickets, q.pageSize, func(page []*pb.Ticket) error {
		resp := &pb.QueryTicketsResponse{Tickets: page}
		pageEncs := encs[sent : sent+len(page)]
		sent += len(page)
		return q.store.wire.withPage(resp, pageEncs, func() error { return stream.Send(resp) })
	})
}

func (q *query) QueryTicketIds(req *pb.QueryTicketIdsRequest, stream grpc.ServerStreamingServer[pb.QueryTicketIdsResponse]) error {
	f, err := poolFilterOf(req.GetPool())
	if err != nil {
		return err
	}
	tickets := q.store.activeTickets(f.ticket)
	ids := make([]string, len(tickets))
	for i, t := range tickets {
		ids[i] = t.GetId()
	}
	return sendPages(ids, q.pageSize, func(page []string) error {
		return stream.Send(&pb.QueryTicketIdsResponse{Ids: page})
	})
}

func (q *query) QueryBackfills(req *pb.QueryBackfillsRequest, stream grpc.ServerStreamingServer[pb.QueryBackfillsResponse]) error {
	f, err := poolFilterOf(req.GetPool())
	if err != nil {
		return err
	}
	backfills := q.store.activeBackfills(f.backfill)
	return sendPages(backfills, q.pageSize, func(page []*pb.Backfill) error {
		return stream.Send(&pb.QueryBackfillsResponse{Backfills: page})
	})
}

// sendPages sends items in pages of at most size; no items means no message.
func sendPages[T any](items []T, size int, send func([]T) error) error {
	for start := 0; start < len(items); start += size {
		end := min(start+size, len(items))
		if err := send(items[start:end]); err != nil {
			return err
		}
	}
	return nil
}
