package omclient_test

import (
	"context"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// BenchmarkUnaryOverhead compares GetTicket through omclient.Frontend with the
// raw generated stub on a plain grpc.ClientConn, against the same loopback
// server in the same run. Calls alternate between the two sides so that both
// see the same machine load; the metric is the ratio of their total times.
func BenchmarkUnaryOverhead(b *testing.B) {
	fe := newScriptedFrontend()
	srv := startServer(b, func(gs *grpc.Server) { pb.RegisterFrontendServiceServer(gs, fe) })
	rawConn, err := grpc.NewClient(srv.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer rawConn.Close()
	raw := pb.NewFrontendServiceClient(rawConn)
	om := omclient.NewFrontend(dial(b, srv.addr))

	ctx := context.Background()
	req := &pb.GetTicketRequest{TicketId: "t1"}
	callRaw := func() error { _, err := raw.GetTicket(ctx, req); return err }
	callOM := func() error { _, err := om.GetTicket(ctx, "t1"); return err }
	for range 100 { // connect and warm up both sides
		if callRaw() != nil || callOM() != nil {
			b.Fatal("warm-up call failed")
		}
	}

	var rawTotal, omTotal time.Duration
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
	b.ReportMetric(float64(omTotal)/float64(rawTotal), "overhead-ratio")
	b.ReportMetric(float64(rawTotal.Nanoseconds())/float64(b.N), "raw-ns/call")
	b.ReportMetric(float64(omTotal.Nanoseconds())/float64(b.N), "omclient-ns/call")
}
