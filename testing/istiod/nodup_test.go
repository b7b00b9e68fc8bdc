//go:build istiod

package istiod_test

import (
	"context"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/istiod"
)

// coresFrontend serves 3 faulty cores through the shared istiod and returns
// them with a Frontend dialed over xds whose every attempt (below the SDK's
// retries, above grpc-go's) is counted in attempts.
func coresFrontend(t *testing.T, attempts *atomic.Int64) (*cores, *omclient.Frontend) {
	t.Helper()
	ctx := testContext(t)
	srv := sharedIstiod(t)
	cs := startCores(t, 3)
	name := uniqueName("cores")
	svc := istiod.Service{Name: name, Host: hostFor(name), Port: cs.port, Endpoints: []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}}
	setService(t, srv, svc)
	count := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoker grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		attempts.Add(1)
		return invoker(ctx, method, req, reply, cc, opts...)
	}
	c := newConn(t, svc.Addr(), omclient.WithStrategy(xdsStrategy(srv, uniqueName("cores-pod"))),
		omclient.WithDialOptions(grpc.WithChainUnaryInterceptor(count)))
	fe := omclient.NewFrontend(c)
	warmUp(t, ctx, cs, fe)
	return cs, fe
}

// warmUp calls GetTicket for an unknown id until every core has answered
// one, so that the tests' calls spread over all three.
func warmUp(t *testing.T, ctx context.Context, cs *cores, fe *omclient.Frontend) {
	t.Helper()
	for i := 0; i < 3000 && ctx.Err() == nil; i++ {
		_, err := fe.GetTicket(ctx, "unknown")
		if c := status.Code(err); c != codes.NotFound {
			t.Fatalf("warm-up GetTicket() = %v, want code NotFound from a core", err)
		}
		if slices.Min(cs.perCore("GetTicket")) > 0 {
			return
		}
	}
	t.Fatalf("not every core answered a call during warm-up: %v (%v)", cs.perCore("GetTicket"), ctx.Err())
}

// TestNoDuplicates: through real istiod's route, each non-idempotent call
// reaches a server exactly once, even when the server answers Unavailable
// after doing the work; istiod's retry policy must not resend it.
func TestNoDuplicates(t *testing.T) {
	var attempts atomic.Int64
	cs, fe := coresFrontend(t, &attempts)
	cs.failing.Store(true)
	for _, tc := range []struct {
		method string
		call   func(ctx context.Context) error
	}{
		{method: "CreateTicket", call: func(ctx context.Context) error { _, err := fe.CreateTicket(ctx, &pb.Ticket{}); return err }},
		{method: "CreateBackfill", call: func(ctx context.Context) error { _, err := fe.CreateBackfill(ctx, &pb.Backfill{}); return err }},
		{method: "UpdateBackfill", call: func(ctx context.Context) error { _, err := fe.UpdateBackfill(ctx, &pb.Backfill{Id: "b"}); return err }},
		{method: "AcknowledgeBackfill", call: func(ctx context.Context) error {
			_, err := fe.AcknowledgeBackfill(ctx, "b", &pb.Assignment{Connection: "10.0.0.1:7777"})
			return err
		}},
	} {
		t.Run(tc.method, func(t *testing.T) {
			const clientCalls = 3
			before := cs.count(tc.method)
			for i := range clientCalls {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				err := tc.call(ctx)
				cancel()
				if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "answer was lost") {
					t.Errorf("call %d: %s() = %v, want the core's Unavailable", i, tc.method, err)
				}
			}
			got := cs.count(tc.method) - before
			t.Logf("%s: %d client calls, %d server-side calls (per core %v)", tc.method, clientCalls, got, cs.perCore(tc.method))
			if got != clientCalls {
				t.Errorf("%s: %d client calls reached the servers %d times, want exactly %d (one each)", tc.method, clientCalls, got, clientCalls)
			}
		})
	}
}

// TestIdempotentAmplification: a GetTicket that keeps failing is retried by
// the SDK only; every SDK attempt reaches a server once, so server-side
// attempts = SDK attempts × 1, not × istiod's 3.
func TestIdempotentAmplification(t *testing.T) {
	var attempts atomic.Int64
	cs, fe := coresFrontend(t, &attempts)
	cs.failing.Store(true)
	before, sdkBefore := cs.count("GetTicket"), attempts.Load()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	_, err := fe.GetTicket(ctx, "unknown")
	cancel()
	if err == nil {
		t.Fatalf("GetTicket() against failing cores = nil error, want an error")
	}
	server, sdk := cs.count("GetTicket")-before, attempts.Load()-sdkBefore
	t.Logf("one GetTicket with a 1 s deadline: %d SDK attempts, %d server-side attempts (x%.2f); error %v",
		sdk, server, float64(server)/float64(max(sdk, 1)), err)
	if sdk < 2 {
		t.Errorf("SDK made %d attempts of an idempotent call within 1 s, want it to retry", sdk)
	}
	if int64(server) != sdk {
		t.Errorf("server-side attempts = %d, want %d (one per SDK attempt): istiod's retry policy multiplies the SDK's retries", server, sdk)
	}
}
