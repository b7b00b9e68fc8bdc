package timeseries_test

import (
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/examples/internal/timeseries"
)

// A replica is killed in second 2 of a run and comes back at second 4: the
// Recorder shows the errors and the slower calls of those seconds, and how
// long after the restart the call rate was back to 90% of what it was.
func Example() {
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := timeseries.New(start)
	r.SetStrategy(start, "headless")
	rate := []int{10, 10, 4, 6, 7, 10}
	for s, n := range rate {
		for i := range n {
			code, lat := codes.OK, 2*time.Millisecond
			if (s == 2 || s == 3) && i == 0 {
				code, lat = codes.Unavailable, 20*time.Millisecond
			}
			r.Observe(start.Add(time.Duration(s)*time.Second+time.Duration(i)*time.Millisecond), "/openmatch.FrontendService/GetTicket", code, lat)
		}
	}
	kill := timeseries.Fault{Kind: "kill", Target: "frontend-1", Start: start.Add(2 * time.Second), End: start.Add(4 * time.Second)}
	r.Mark(kill)
	if err := timeseries.WriteCSV(os.Stdout, r.Seconds()); err != nil {
		fmt.Println(err)
	}
	d, ok := r.Recovery(kill.Start, kill.End, 2*time.Second, 0.9)
	fmt.Println("recovered after", d, ok)
	// Output:
	// second,calls,errors,errors_by_code,p50_ms,p99_ms,strategy,faults
	// 0,10,0,,1.999,1.999,headless,
	// 1,10,0,,1.999,1.999,headless,
	// 2,4,1,Unavailable=1,1.999,20.447,headless,kill frontend-1
	// 3,6,1,Unavailable=1,1.999,20.447,headless,kill frontend-1
	// 4,7,0,,1.999,1.999,headless,
	// 5,10,0,,1.999,1.999,headless,
	// recovered after 1s true
}
