package omclient

import (
	"context"
	"fmt"
	"sync"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// QueryPools queries every pool concurrently and returns the tickets by pool
// name. Each pool's query restarts from scratch when its stream breaks with a
// retryable error. The first error that is not retried cancels the other
// queries and is returned with no results. Pools with the same name overwrite
// each other; a ticket may appear in several pools.
func (q *Query) QueryPools(ctx context.Context, pools []*pb.Pool) (map[string][]*pb.Ticket, error) {
	return queryPools(ctx, pools, q.QueryTickets)
}

// QueryBackfillPools is QueryPools over QueryBackfills (beta).
func (q *Query) QueryBackfillPools(ctx context.Context, pools []*pb.Pool) (map[string][]*pb.Backfill, error) {
	return queryPools(ctx, pools, q.QueryBackfills)
}

func queryPools[T any](ctx context.Context, pools []*pb.Pool, query func(context.Context, *pb.Pool) ([]T, error)) (map[string][]T, error) {
	for i, p := range pools {
		if p == nil {
			return nil, invalidArg("query pools", fmt.Sprintf("pool %d is nil", i))
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Cancel the siblings before waiting for them, so that the first error
	// returns at once (deferred calls run last in, first out).
	defer wg.Wait()
	defer cancel()

	type result struct {
		name  string
		items []T
		err   error
	}
	results := make(chan result, len(pools))
	for _, p := range pools {
		wg.Add(1)
		go func() {
			defer wg.Done()
			items, err := query(ctx, p)
			results <- result{name: p.GetName(), items: items, err: err}
		}()
	}

	out := make(map[string][]T, len(pools))
	for range pools {
		r := <-results
		if r.err != nil {
			return nil, r.err
		}
		out[r.name] = r.items
	}
	return out, nil
}
