package omtest_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// fillTickets creates n tickets with 8 concurrent clients.
func fillTickets(b *testing.B, s *omtest.Server, n int) {
	b.Helper()
	ctx := context.Background()
	const workers = 8
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			for i := w; i < n; i += workers {
				_, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{
					SearchFields: &pb.SearchFields{DoubleArgs: map[string]float64{"skill": float64(i % 100)}},
				}})
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	require.NoError(b, <-errs)
}

func BenchmarkCreateTicket(b *testing.B) {
	s := omtest.NewServer(b)
	ctx := context.Background()
	req := &pb.CreateTicketRequest{Ticket: &pb.Ticket{SearchFields: &pb.SearchFields{Tags: []string{"bench"}}}}
	for b.Loop() {
		if _, err := s.Frontend().CreateTicket(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
}

func BenchmarkQueryTickets(b *testing.B) {
	for _, n := range []int{10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := omtest.NewServer(b)
			fillTickets(b, s, n)
			ctx := context.Background()
			pool := &pb.Pool{DoubleRangeFilters: []*pb.DoubleRangeFilter{{DoubleArg: "skill", Min: 0, Max: 100}}}
			for b.Loop() {
				stream, err := s.Query().QueryTickets(ctx, &pb.QueryTicketsRequest{Pool: pool})
				if err != nil {
					b.Fatal(err)
				}
				pages, err := recvAll(stream)
				if err != nil {
					b.Fatal(err)
				}
				got := 0
				for _, p := range pages {
					got += len(p.GetTickets())
				}
				if got != n {
					b.Fatalf("QueryTickets returned %d tickets, want %d", got, n)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tickets/s")
		})
	}
}

// BenchmarkFetchMatches measures one full FetchMatches cycle over n tickets:
// the MMF queries every ticket and pairs them, the default evaluator scores
// n/2 proposals, and the matches stream back.
func BenchmarkFetchMatches(b *testing.B) {
	for _, n := range []int{10000} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			s := omtest.NewServer(b,
				omtest.WithRegistrationInterval(time.Millisecond),
				omtest.WithQueryPageSize(10000),
				omtest.WithMatchFunction(pairUp))
			fillTickets(b, s, n)
			ctx := context.Background()
			profile := &pb.MatchProfile{Name: "bench", Pools: []*pb.Pool{{Name: "all"}}}
			for b.Loop() {
				ms, err := fetchAll(ctx, s.Backend(), profile)
				if err != nil {
					b.Fatal(err)
				}
				if len(ms) != n/2 {
					b.Fatalf("FetchMatches returned %d matches, want %d", len(ms), n/2)
				}
				b.StopTimer()
				if _, err := s.Backend().ReleaseAllTickets(ctx, &pb.ReleaseAllTicketsRequest{}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "cycle-ms")
		})
	}
}
