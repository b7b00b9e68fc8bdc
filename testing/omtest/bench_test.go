package omtest_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// scaleSizes are the ticket counts of the scale benchmarks.
var scaleSizes = []int{1000, 10000, 100000}

// fastOptions are the options tests use to make cycles quick: a 1 ms
// registration window (default 50 ms) and 10 000 tickets per query page
// (default 1000).
var fastOptions = []omtest.Option{omtest.WithRegistrationInterval(time.Millisecond), omtest.WithQueryPageSize(10000)}

// createWorkers is how many clients create tickets at once.
const createWorkers = 8

// benchTicket is ticket i of a fill: one double, one string and one tag, the
// fields a typical MMF pools on.
func benchTicket(i int) *pb.Ticket {
	return &pb.Ticket{SearchFields: &pb.SearchFields{
		DoubleArgs: map[string]float64{"skill": float64(i % 100)},
		StringArgs: map[string]string{"region": []string{"eu", "us", "ap"}[i%3]},
		Tags:       []string{"mode.ranked"},
	}}
}

// fillTickets creates tickets [from, to) with createWorkers concurrent
// clients.
func fillTickets(b *testing.B, s *omtest.Server, from, to int) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, createWorkers)
	for w := range createWorkers {
		wg.Go(func() {
			for i := from + w; i < to; i += createWorkers {
				if _, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: benchTicket(i)}); err != nil {
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

// liveHeap is the heap in use after a collection.
func liveHeap() uint64 {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

// fill is what filling a core measured.
type fill struct {
	heapPerTicket float64 // live heap the tickets added, per ticket
	createRate    float64 // tickets created per second
}

// report reports the fill as "stored-bytes-per-ticket" (goal < 2048) and
// "create-tickets/s". Call it after the benchmark loop, which resets metrics.
func (f fill) report(b *testing.B) {
	b.ReportMetric(f.heapPerTicket, "stored-bytes-per-ticket")
	b.ReportMetric(f.createRate, "create-tickets/s")
}

// filled starts a core with opts and fills it with n tickets.
func filled(b *testing.B, n int, opts ...omtest.Option) (*omtest.Server, fill) {
	s := omtest.NewServer(b, opts...)
	before := liveHeap()
	start := time.Now()
	fillTickets(b, s, 0, n)
	rate := float64(n) / time.Since(start).Seconds()
	return s, fill{heapPerTicket: float64(int64(liveHeap())-int64(before)) / float64(n), createRate: rate}
}

// BenchmarkCreateTicket creates b.N tickets on an empty core with
// createWorkers concurrent clients and reports "tickets/s".
func BenchmarkCreateTicket(b *testing.B) {
	s := omtest.NewServer(b)
	b.ResetTimer()
	fillTickets(b, s, 0, b.N)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tickets/s")
}

// BenchmarkQueryPools runs omclient's QueryPools over two pools that split n
// tickets by skill, with the default options, and reports "ns-per-ticket",
// B/op and allocs/op, and the fill's figures (see fill.report).
func BenchmarkQueryPools(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) { benchQueryPools(b, n) })
}

// BenchmarkQueryPoolsFast is BenchmarkQueryPools with fastOptions.
func BenchmarkQueryPoolsFast(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) { benchQueryPools(b, n, fastOptions...) })
}

func benchSizes(b *testing.B, bench func(b *testing.B, n int)) {
	for _, n := range scaleSizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) { bench(b, n) })
	}
}

func benchQueryPools(b *testing.B, n int, opts ...omtest.Option) {
	s, f := filled(b, n, opts...)
	q := omclient.NewQuery(s.Conn())
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pools := []*pb.Pool{
		{Name: "low", DoubleRangeFilters: []*pb.DoubleRangeFilter{{DoubleArg: "skill", Min: 0, Max: 49}}},
		{Name: "high", DoubleRangeFilters: []*pb.DoubleRangeFilter{{DoubleArg: "skill", Min: 50, Max: 99}}},
	}
	b.ReportAllocs()
	for b.Loop() {
		got, err := q.QueryPools(ctx, pools)
		if err != nil {
			b.Fatal(err)
		}
		if total := len(got["low"]) + len(got["high"]); total != n {
			b.Fatalf("QueryPools returned %d tickets, want %d", total, n)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns-per-ticket")
	f.report(b)
}
