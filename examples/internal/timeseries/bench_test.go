package timeseries_test

import (
	"testing"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/examples/internal/timeseries"
)

// BenchmarkObserve is the cost Observe adds to every call, from as many
// goroutines as GOMAXPROCS, over a minute of seconds.
func BenchmarkObserve(b *testing.B) {
	r := timeseries.New(t0)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			code := codes.OK
			if i%100 == 0 {
				code = codes.Unavailable
			}
			r.Observe(at(time.Duration(i%60_000)*time.Millisecond), "/openmatch.FrontendService/CreateTicket", code, time.Duration(i%5000)*time.Microsecond)
		}
	})
}
