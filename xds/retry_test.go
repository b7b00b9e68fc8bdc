package xds_test

import (
	"context"
	"path"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// nonIdempotent lists the calls whose retry can duplicate what the server
// stores: it mints ids or bumps generations.
var nonIdempotent = []struct {
	method string
	call   func(context.Context, pb.FrontendServiceClient) error
}{
	{method: pb.FrontendService_CreateTicket_FullMethodName, call: func(ctx context.Context, c pb.FrontendServiceClient) error {
		_, err := c.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
		return err
	}},
	{method: pb.FrontendService_CreateBackfill_FullMethodName, call: func(ctx context.Context, c pb.FrontendServiceClient) error {
		_, err := c.CreateBackfill(ctx, &pb.CreateBackfillRequest{Backfill: &pb.Backfill{}})
		return err
	}},
	{method: pb.FrontendService_UpdateBackfill_FullMethodName, call: func(ctx context.Context, c pb.FrontendServiceClient) error {
		_, err := c.UpdateBackfill(ctx, &pb.UpdateBackfillRequest{Backfill: &pb.Backfill{Id: "b"}})
		return err
	}},
	{method: pb.FrontendService_AcknowledgeBackfill_FullMethodName, call: func(ctx context.Context, c pb.FrontendServiceClient) error {
		_, err := c.AcknowledgeBackfill(ctx, &pb.AcknowledgeBackfillRequest{BackfillId: "b", Assignment: &pb.Assignment{}})
		return err
	}},
}

// serveStore serves bs behind a fake istiod that sends istiod's default
// route (with its retry policy) and returns a strategy that reaches them.
func serveStore(t *testing.T, bs []*storeBackend) xds.Strategy {
	t.Helper()
	srv := xdstest.NewServer(t)
	addrs := make([]string, len(bs))
	for i, b := range bs {
		addrs[i] = b.addr
	}
	require.NoError(t, srv.SetEndpoints(svcHost, svcPort, addrs...))
	return xds.Strategy{Bootstrap: srv.Bootstrap("store-node"), Env: envOf(nil)}
}

// warmUp calls GetTicket until every backend has answered one, so that
// every later call has every backend to go to.
func warmUp(t *testing.T, ctx context.Context, c pb.FrontendServiceClient, bs []*storeBackend) {
	t.Helper()
	seen := map[string]bool{}
	for len(seen) < len(bs) {
		tk, err := c.GetTicket(ctx, &pb.GetTicketRequest{TicketId: "t"}, grpc.WaitForReady(true))
		require.NoError(t, err, "warm-up GetTicket; backends seen %v", seen)
		seen[tk.GetId()] = true
	}
}

// TestNonIdempotentNotRetried: three backends store each call and then
// answer Unavailable, as a backend that loses its answer does. Over istiod's
// route with its retry policy, each client call must reach exactly one
// backend once and fail with Unavailable.
func TestNonIdempotentNotRetried(t *testing.T) {
	const calls = 3
	for _, tc := range nonIdempotent {
		t.Run(path.Base(tc.method), func(t *testing.T) {
			ctx := testContext(t)
			bs := startStoreBackends(t, 3, unavailable)
			c := pb.NewFrontendServiceClient(dial(t, serveStore(t, bs)))
			warmUp(t, ctx, c, bs)
			for i := range calls {
				err := tc.call(ctx, c)
				assert.Equal(t, codes.Unavailable, status.Code(err), "call %d: err = %v, want code Unavailable", i, err)
			}
			t.Logf("%s: %d client calls, %d server-side calls", tc.method, calls, total(bs, tc.method))
			assert.Equal(t, calls, total(bs, tc.method), "server-side %s calls for %d client calls", tc.method, calls)
		})
	}
}

// TestNonIdempotentBackendExits: the backend that serves the call stores it
// and exits before it answers; the others would succeed. The caller must
// get an error, not a silent duplicate from another backend.
func TestNonIdempotentBackendExits(t *testing.T) {
	for _, tc := range nonIdempotent {
		t.Run(path.Base(tc.method), func(t *testing.T) {
			ctx := testContext(t)
			var exited atomic.Bool
			bs := startStoreBackends(t, 3, func(b *storeBackend, method string) error {
				if method == tc.method && exited.CompareAndSwap(false, true) {
					b.exit()
				}
				return nil
			})
			c := pb.NewFrontendServiceClient(dial(t, serveStore(t, bs)))
			warmUp(t, ctx, c, bs)
			err := tc.call(ctx, c)
			t.Logf("%s: err = %v, server-side calls %d", tc.method, err, total(bs, tc.method))
			assert.Equal(t, codes.Unavailable, status.Code(err), "err = %v, want code Unavailable (the backend exited)", err)
			assert.Equal(t, 1, total(bs, tc.method), "server-side %s calls for one client call", tc.method)
		})
	}
}

// TestIdempotentRetriedBySDKOnly: omclient retries GetTicket on
// Unavailable (default policy) until the 1 s deadline; over xds each of its
// attempts must reach a backend once, not once per attempt of grpc-go's own
// retry on top. The last attempt may be cut by the deadline before it
// reaches a backend.
func TestIdempotentRetriedBySDKOnly(t *testing.T) {
	ctx := testContext(t)
	bs := startStoreBackends(t, 3, func(_ *storeBackend, method string) error {
		return status.Error(codes.Unavailable, "failing")
	})
	var attempts atomic.Int64
	count := func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn, invoke grpc.UnaryInvoker, opts ...grpc.CallOption) error {
		attempts.Add(1)
		return invoke(ctx, method, req, reply, cc, opts...)
	}
	fe, err := omclient.DialFrontend(svcAddr,
		omclient.WithStrategy(serveStore(t, bs)),
		omclient.WithDialOptions(grpc.WithChainUnaryInterceptor(count)))
	require.NoError(t, err)
	t.Cleanup(func() { fe.Close() })
	callCtx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = fe.GetTicket(callCtx, "t")
	require.Error(t, err, "GetTicket against failing backends")
	server := total(bs, pb.FrontendService_GetTicket_FullMethodName)
	t.Logf("GetTicket with a 1s deadline: %d SDK attempts, %d server attempts (err %v)", attempts.Load(), server, err)
	sdk := int(attempts.Load())
	require.Positive(t, sdk, "SDK attempts")
	assert.LessOrEqual(t, server, sdk, "server attempts for %d SDK attempts", sdk)
	assert.GreaterOrEqual(t, server, sdk-1, "server attempts for %d SDK attempts", sdk)
}
