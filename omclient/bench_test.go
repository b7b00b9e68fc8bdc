package omclient_test

import (
	"context"
	"net"
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
// grpc.ClientConn to the same loopback server, in the same run. Calls
// alternate between the two sides so that both see the same machine load;
// "overhead-ratio" is the ratio of their total times.
func BenchmarkUnaryOverhead(b *testing.B) {
	for _, p := range overheadPaths {
		b.Run(p.name, func(b *testing.B) { benchOverhead(b, p) })
	}
}

func benchOverhead(b *testing.B, p benchStrategy) {
	bs := balancertest.StartBackends(b, 1)
	rawConn, err := grpc.NewClient(bs[0].Addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer rawConn.Close()
	raw := pb.NewFrontendServiceClient(rawConn)
	s, addr := p.build(b, bs)
	c, err := omclient.NewConn(addr, omclient.WithStrategy(s))
	if err != nil {
		b.Fatalf("NewConn(%q) = %v", addr, err)
	}
	defer c.Close()
	om := omclient.NewFrontend(c)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	req := &pb.GetTicketRequest{TicketId: "t1"}
	callRaw := func() error { _, err := raw.GetTicket(ctx, req); return err }
	callOM := func() error { _, err := om.GetTicket(ctx, "t1"); return err }
	for range 100 { // connect and warm up both sides
		if err := callRaw(); err != nil {
			b.Fatalf("raw warm-up call: %v", err)
		}
		if err := callOM(); err != nil {
			b.Fatalf("omclient warm-up call: %v", err)
		}
	}
	if d := c.Decision(); p.name == "auto" && d.Strategy != "headless" {
		b.Fatalf("auto chose %q, want headless in a test environment: %+v", d.Strategy, d)
	}
	rawTotal, omTotal := alternate(b, callRaw, callOM)
	b.ReportMetric(float64(omTotal)/float64(rawTotal), "overhead-ratio")
	b.ReportMetric(float64(rawTotal.Nanoseconds())/float64(b.N), "raw-ns/call")
	b.ReportMetric(float64(omTotal.Nanoseconds())/float64(b.N), "omclient-ns/call")
}

// alternate makes b.N calls of each side, swapping which goes first every
// iteration, and returns each side's total time.
func alternate(b *testing.B, callRaw, callOM func() error) (rawTotal, omTotal time.Duration) {
	timed := func(call func() error) time.Duration {
		start := time.Now()
		if err := call(); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	for i := 0; b.Loop(); i++ {
		if i%2 == 0 {
			rawTotal += timed(callRaw)
			omTotal += timed(callOM)
		} else {
			omTotal += timed(callOM)
			rawTotal += timed(callRaw)
		}
	}
	return rawTotal, omTotal
}
