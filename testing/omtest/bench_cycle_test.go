package omtest_test

import (
	"context"
	"runtime"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// BenchmarkFetchMatches measures one full FetchMatches cycle over n tickets
// with the core's default options: the MMF (pairUp, in process) queries
// every ticket and pairs them, the default evaluator scores n/2 proposals,
// and the matches stream back. Between cycles, untimed, every ticket is
// released. It reports "cycle-ms" (goal for 100 000: under 1000),
// "ns-per-ticket", the bytes and allocations of one cycle per ticket
// ("bytes-per-ticket", "allocs-per-ticket"; the whole process, client and
// core), and the fill's figures (see fill.report).
func BenchmarkFetchMatches(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) { benchFetch(b, n) })
}

// BenchmarkFetchMatchesFast is BenchmarkFetchMatches with fastOptions.
func BenchmarkFetchMatchesFast(b *testing.B) {
	benchSizes(b, func(b *testing.B, n int) { benchFetch(b, n, fastOptions...) })
}

func benchFetch(b *testing.B, n int, opts ...omtest.Option) {
	s, f := filled(b, n, append(opts, omtest.WithMatchFunction(pairUp))...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	profile := &pb.MatchProfile{Name: "bench", Pools: []*pb.Pool{{Name: "all"}}}
	var bytes, allocs uint64
	var m0, m1 runtime.MemStats
	for b.Loop() {
		runtime.ReadMemStats(&m0)
		ms, err := fetchAll(ctx, s.Backend(), profile)
		runtime.ReadMemStats(&m1)
		if err != nil {
			b.Fatal(err)
		}
		if len(ms) != n/2 {
			b.Fatalf("FetchMatches returned %d matches, want %d", len(ms), n/2)
		}
		bytes += m1.TotalAlloc - m0.TotalAlloc
		allocs += m1.Mallocs - m0.Mallocs
		b.StopTimer()
		if _, err := s.Backend().ReleaseAllTickets(ctx, &pb.ReleaseAllTicketsRequest{}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	cycles := float64(b.N)
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/cycles, "cycle-ms")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/cycles/float64(n), "ns-per-ticket")
	b.ReportMetric(float64(bytes)/cycles/float64(n), "bytes-per-ticket")
	b.ReportMetric(float64(allocs)/cycles/float64(n), "allocs-per-ticket")
	f.report(b)
}
