package omclient_test

import (
	"context"
	"net"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/xds"
)

// overheadPaths are the strategies BenchmarkUnaryOverhead measures: the
// three a connection can end up on, and "auto", the default chain (sidecar,
// xds, headless) as it runs in a test environment with no sidecar agent and
// no istiod (each probed at a closed loopback port), so that it settles on
// headless.
var overheadPaths = []benchStrategy{
	{name: "static", build: staticBench},
	{name: "headless", build: headlessBench},
	{name: "xds", build: xdsBench},
	{name: "auto", build: autoBench},
}

func autoBench(b *testing.B, bs []*balancertest.Backend) (balancer.Strategy, string) {
	dns := balancer.DNS{Server: benchDNS(b, bs).Addr()}
	return balancer.Auto{Strategies: []balancer.Strategy{
		balancer.Sidecar{ProbeAddr: closedAddr(b), AdminAddr: closedAddr(b), DNS: dns},
		xds.Strategy{IstiodAddr: closedAddr(b), Env: func(string) string { return "" }, CertDir: b.TempDir()},
		balancer.Headless{DNS: dns},
	}}, benchAddr(bs)
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(b *testing.B) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// BenchmarkUnaryOverhead compares GetTicket through omclient.Frontend (default
// retry policy) on each path with the raw generated stub on a plain
// grpc.ClientConn to the same loopback server, in the same run. Calls rotate
// between the sides so that all see the same machine load; "overhead-ratio"
// is the ratio of their total times and "overhead-p50-ratio" that of their
// median call times (steadier on a shared machine). A third side, the raw stub on the
// strategy's own connection (Strategy.Dial, no omclient), splits that ratio
// into the path's share ("path-ratio": strategy connection ÷ plain) and
// omclient's wrapper's ("wrapper-ratio": omclient ÷ strategy connection).
func BenchmarkUnaryOverhead(b *testing.B) {
	for _, p := range overheadPaths {
		b.Run(p.name, func(b *testing.B) { benchOverhead(b, p) })
	}
}

// overheadSides are the three ways of making the same GetTicket call.
type overheadSides struct {
	raw, path pb.FrontendServiceClient
	om        *omclient.Frontend
}

func benchOverhead(b *testing.B, p benchStrategy) {
	bs := balancertest.StartBackends(b, 1)
	rawConn, err := grpc.NewClient(bs[0].Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer rawConn.Close()
	s, addr := p.build(b, bs)
	pathConn, err := s.Dial(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatalf("%s.Dial(%q) = %v", s.Name(), addr, err)
	}
	defer pathConn.Close()
	c, err := omclient.NewConn(addr, omclient.WithStrategy(s))
	if err != nil {
		b.Fatalf("NewConn(%q) = %v", addr, err)
	}
	defer c.Close()
	sides := overheadSides{raw: pb.NewFrontendServiceClient(rawConn), path: pb.NewFrontendServiceClient(pathConn), om: omclient.NewFrontend(c)}
	calls := sides.calls()
	for range 100 { // connect and warm up every side
		for i, call := range calls {
			if err := call(); err != nil {
				b.Fatalf("warm-up call on side %d: %v", i, err)
			}
		}
	}
	if d := c.Decision(); p.name == "auto" && d.Strategy != "headless" {
		b.Fatalf("auto chose %q, want headless in a test environment: %+v", d.Strategy, d)
	}
	times := rotate(b, calls)
	t := []time.Duration{durationSum(times[0]), durationSum(times[1]), durationSum(times[2])}
	b.ReportMetric(float64(durationMedian(times[2]))/float64(durationMedian(times[0])), "overhead-p50-ratio")
	b.ReportMetric(float64(t[2])/float64(t[0]), "overhead-ratio")
	b.ReportMetric(float64(t[1])/float64(t[0]), "path-ratio")
	b.ReportMetric(float64(t[2])/float64(t[1]), "wrapper-ratio")
	b.ReportMetric(float64(t[0].Nanoseconds())/float64(b.N), "raw-ns/call")
	b.ReportMetric(float64(t[2].Nanoseconds())/float64(b.N), "omclient-ns/call")
}

// calls returns the raw, path and omclient calls, in that order.
func (s overheadSides) calls() []func() error {
	ctx := context.Background()
	req := &pb.GetTicketRequest{TicketId: "t1"}
	return []func() error{
		func() error { _, err := s.raw.GetTicket(ctx, req); return err },
		func() error { _, err := s.path.GetTicket(ctx, req); return err },
		func() error { _, err := s.om.GetTicket(ctx, "t1"); return err },
	}
}

// rotate makes b.N calls of each side, starting each iteration with the next
// side, and returns each side's call times.
func rotate(b *testing.B, calls []func() error) [][]time.Duration {
	times := make([][]time.Duration, len(calls))
	for i := 0; b.Loop(); i++ {
		for j := range calls {
			k := (i + j) % len(calls)
			start := time.Now()
			if err := calls[k](); err != nil {
				b.Fatal(err)
			}
			times[k] = append(times[k], time.Since(start))
		}
	}
	return times
}

// durationSum is the total of ds.
func durationSum(ds []time.Duration) time.Duration {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return t
}

// durationMedian is the middle of ds (sorted in place).
func durationMedian(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
