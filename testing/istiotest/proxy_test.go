package istiotest_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/istiotest"
)

// failing is a FrontendService that records which upstream served each
// CreateTicket and answers with code, or with a ticket when code is OK.
type failing struct {
	pb.UnimplementedFrontendServiceServer
	name string
	code codes.Code
	log  *callLog
}

type callLog struct {
	mu    sync.Mutex
	calls []string
	md    []metadata.MD
}

func (f *failing) CreateTicket(ctx context.Context, _ *pb.CreateTicketRequest) (*pb.Ticket, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	f.log.mu.Lock()
	f.log.calls = append(f.log.calls, f.name)
	f.log.md = append(f.log.md, md)
	f.log.mu.Unlock()
	if f.code != codes.OK {
		return nil, status.Error(f.code, "store then fail")
	}
	return &pb.Ticket{Id: f.name}, nil
}

func upstreams(t *testing.T, code codes.Code, log *callLog, n int) []string {
	t.Helper()
	addrs := make([]string, n)
	for i := range addrs {
		lis, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		gs := grpc.NewServer()
		pb.RegisterFrontendServiceServer(gs, &failing{name: lis.Addr().String(), code: code, log: log})
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = gs.Serve(lis)
		}()
		t.Cleanup(func() {
			gs.Stop()
			<-done
		})
		addrs[i] = lis.Addr().String()
	}
	return addrs
}

func frontendVia(t *testing.T, p *istiotest.Proxy) pb.FrontendServiceClient {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+p.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	return pb.NewFrontendServiceClient(cc)
}

// TestProxyRetriesLikeIstioDefaultRoute: an UNAVAILABLE answer is retried
// twice, each time on a host not tried yet; x-envoy-max-retries overrides
// the count and is not passed upstream; SetRetries(false) turns retries
// off; other codes are not retried; answers pass through.
func TestProxyRetriesLikeIstioDefaultRoute(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	tests := []struct {
		name    string
		code    codes.Code
		header  string
		off     bool
		want    int
		wantErr codes.Code
	}{
		{name: "unavailable, default route", code: codes.Unavailable, want: 3, wantErr: codes.Unavailable},
		{name: "cancelled by upstream", code: codes.Canceled, want: 3, wantErr: codes.Canceled},
		{name: "x-envoy-max-retries 0", code: codes.Unavailable, header: "0", want: 1, wantErr: codes.Unavailable},
		{name: "x-envoy-max-retries 1", code: codes.Unavailable, header: "1", want: 2, wantErr: codes.Unavailable},
		{name: "retries off", code: codes.Unavailable, off: true, want: 1, wantErr: codes.Unavailable},
		{name: "not retried code", code: codes.ResourceExhausted, want: 1, wantErr: codes.ResourceExhausted},
		{name: "success", code: codes.OK, want: 1, wantErr: codes.OK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			log := &callLog{}
			p := istiotest.NewProxy(t, upstreams(t, tc.code, log, 3)...)
			p.SetRetries(!tc.off)
			cctx := ctx
			if tc.header != "" {
				cctx = metadata.AppendToOutgoingContext(ctx, "x-envoy-max-retries", tc.header)
			}
			tk, err := frontendVia(t, p).CreateTicket(cctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
			assert.Equal(t, tc.wantErr, status.Code(err), "CreateTicket() through the proxy = %v", err)
			log.mu.Lock()
			defer log.mu.Unlock()
			assert.Len(t, log.calls, tc.want, "upstream CreateTicket calls")
			hosts := map[string]bool{}
			for i, h := range log.calls {
				hosts[h] = true
				assert.Empty(t, log.md[i].Get("x-envoy-max-retries"), "x-envoy-max-retries passed upstream")
			}
			assert.Len(t, hosts, len(log.calls), "distinct hosts tried (previous_hosts)")
			if tc.code == codes.OK {
				assert.Equal(t, log.calls[0], tk.GetId(), "ticket passed through")
			}
			assert.Equal(t, int64(tc.want), p.Attempts(), "Attempts()")
		})
	}
}

// TestProxyConnectFailureRetried: an upstream that refuses connections is
// retried on the next host (connect-failure), so the call succeeds.
func TestProxyConnectFailureRetried(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := lis.Addr().String()
	require.NoError(t, lis.Close())
	log := &callLog{}
	p := istiotest.NewProxy(t, append([]string{dead}, upstreams(t, codes.OK, log, 1)...)...)
	_, err = frontendVia(t, p).CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err, "CreateTicket() with the first upstream refusing connections")
	assert.Equal(t, int64(2), p.Attempts(), "Attempts()")
}

// TestProxySetUpstreamsAndRestart: calls follow SetUpstreams, an empty list
// is refused and keeps the old one, and a proxy started again on a closed
// proxy's address serves there.
func TestProxySetUpstreamsAndRestart(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log := &callLog{}
	addrs := upstreams(t, codes.OK, log, 3)
	p, err := istiotest.StartProxy(addrs[:2]...)
	require.NoError(t, err)
	served := func(fe pb.FrontendServiceClient, n int) map[string]int {
		t.Helper()
		got := map[string]int{}
		for range n {
			tk, err := fe.CreateTicket(ctx, &pb.CreateTicketRequest{}, grpc.WaitForReady(true))
			require.NoError(t, err)
			got[tk.GetId()]++
		}
		return got
	}
	fe := frontendVia(t, p)
	assert.Equal(t, map[string]int{addrs[0]: 2, addrs[1]: 2}, served(fe, 4))

	require.NoError(t, p.SetUpstreams(addrs[1:]...))
	assert.Equal(t, map[string]int{addrs[1]: 2, addrs[2]: 2}, served(fe, 4), "after SetUpstreams")
	require.ErrorContains(t, p.SetUpstreams(), "no upstream addresses")
	assert.Equal(t, map[string]int{addrs[1]: 1, addrs[2]: 1}, served(fe, 2), "a refused SetUpstreams changes nothing")

	at := p.Addr()
	p.Close()
	_, err = fe.CreateTicket(ctx, &pb.CreateTicketRequest{})
	require.Equal(t, codes.Unavailable, status.Code(err), "closed proxy: %v", err)
	p2, err := istiotest.StartProxyAt(at, addrs[0])
	require.NoError(t, err)
	defer p2.Close()
	assert.Equal(t, at, p2.Addr())
	assert.Equal(t, map[string]int{addrs[0]: 3}, served(fe, 3), "the old client reaches the restarted proxy")
}
