package omclient_test

import (
	"context"
	"net"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/faulttest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
)

// storeFault is what a storingFrontend does after it stored a call.
type storeFault int

const (
	// storeThenUnavailable answers UNAVAILABLE, like a core that wrote the
	// ticket and then lost its Redis connection or was shutting down.
	storeThenUnavailable storeFault = iota
	// storeThenExit kills the pod the call came through before answering,
	// like a process that exits right after storing.
	storeThenExit
)

func (f storeFault) String() string {
	if f == storeThenExit {
		return "stores then exits"
	}
	return "stores then Unavailable"
}

// storingFrontend counts every non-idempotent call it receives (it has
// "stored" it) and then fails it with its fault.
type storingFrontend struct {
	pb.UnimplementedFrontendServiceServer
	fault storeFault

	mu   sync.Mutex
	pods []*faulttest.Proxy
}

func (s *storingFrontend) store(ctx context.Context) error {
	if s.fault == storeThenUnavailable {
		return status.Error(codes.Unavailable, "stored, then lost the database")
	}
	ip := ""
	if p, ok := peer.FromContext(ctx); ok {
		ip, _, _ = net.SplitHostPort(p.Addr.String())
	}
	s.mu.Lock()
	pod := podAt(s.pods, ip)
	s.mu.Unlock()
	if pod != nil {
		go pod.Stop()
	}
	<-ctx.Done()
	return status.FromContextError(ctx.Err()).Err()
}

func (s *storingFrontend) CreateTicket(ctx context.Context, _ *pb.CreateTicketRequest) (*pb.Ticket, error) {
	return nil, s.store(ctx)
}

func (s *storingFrontend) CreateBackfill(ctx context.Context, _ *pb.CreateBackfillRequest) (*pb.Backfill, error) {
	return nil, s.store(ctx)
}

func (s *storingFrontend) UpdateBackfill(ctx context.Context, _ *pb.UpdateBackfillRequest) (*pb.Backfill, error) {
	return nil, s.store(ctx)
}

func (s *storingFrontend) AcknowledgeBackfill(ctx context.Context, _ *pb.AcknowledgeBackfillRequest) (*pb.AcknowledgeBackfillResponse, error) {
	return nil, s.store(ctx)
}

// onceCalls are the calls that make the server mint an id or bump a
// generation, so that any repetition is a duplicate.
var onceCalls = []struct {
	method string
	call   func(context.Context, *omclient.Frontend) error
}{
	{method: "CreateTicket", call: func(ctx context.Context, f *omclient.Frontend) error {
		_, err := f.CreateTicket(ctx, &pb.Ticket{})
		return err
	}},
	{method: "CreateBackfill", call: func(ctx context.Context, f *omclient.Frontend) error {
		_, err := f.CreateBackfill(ctx, &pb.Backfill{})
		return err
	}},
	{method: "UpdateBackfill", call: func(ctx context.Context, f *omclient.Frontend) error {
		_, err := f.UpdateBackfill(ctx, &pb.Backfill{Id: "b1"})
		return err
	}},
	{method: "AcknowledgeBackfill", call: func(ctx context.Context, f *omclient.Frontend) error {
		_, err := f.AcknowledgeBackfill(ctx, "b1", &pb.Assignment{Connection: "gs-1"})
		return err
	}},
}

// onceStrategies are podStrategies with the sidecar path going through a
// proxy that retries like Envoy on Istio's default route.
var onceStrategies = []faultStrategy{
	{name: "static", build: staticPods},
	{name: "headless", build: headlessPods},
	{name: "sidecar", build: sidecarProxyPods},
	{name: "xds", build: xdsPods},
}

// sidecarProxyPods puts an istiotest.Proxy (Envoy on Istio's default
// route, retries on) in front of the pods and serves its IP under
// faultHost, as a ClusterIP Service through the sidecar looks to the app.
func sidecarProxyPods(t *testing.T, pods []*faulttest.Proxy) (balancer.Strategy, string) {
	addrs := make([]string, len(pods))
	for i, p := range pods {
		addrs[i] = p.Addr()
	}
	proxy := istiotest.NewProxy(t, addrs...)
	host, port, _ := net.SplitHostPort(proxy.Addr())
	dns := dnsFor(t, nil)
	dns.Set(faultHost, host)
	agent := istiotest.NewAgent(t)
	return balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: agent.Addr(), DNS: balancer.DNS{Server: dns.Addr(), RefreshInterval: faultRefresh}},
		net.JoinHostPort(faultHost, port)
}

// onceSetup serves a storingFrontend with fault behind 3 pods reached with
// st, and returns the frontend client and the server's recorder.
func onceSetup(t *testing.T, st faultStrategy, fault storeFault) (*omclient.Frontend, *recorder) {
	rec := newRecorder()
	srv := &storingFrontend{fault: fault}
	addr := startOnce(t, srv, rec)
	pods := faulttest.NewProxies(t, 3, addr)
	srv.mu.Lock()
	srv.pods = pods
	srv.mu.Unlock()
	s, addr := st.build(t, pods)
	return omclient.NewFrontend(faultConn(t, s, addr)), rec
}

// TestFaultNonIdempotentOnce: under every strategy, a non-idempotent call
// that the server stored and then failed (UNAVAILABLE, or the pod exited)
// reaches the server exactly once per client call, and the caller gets the
// error: nothing retries it, neither the SDK, nor grpc-go's retry policy
// from xDS, nor the sidecar proxy.
func TestFaultNonIdempotentOnce(t *testing.T) {
	t.Parallel()
	for _, st := range onceStrategies {
		t.Run(st.name, func(t *testing.T) {
			t.Parallel()
			for _, oc := range onceCalls {
				for _, fault := range []storeFault{storeThenUnavailable, storeThenExit} {
					t.Run(oc.method+"/"+fault.String(), func(t *testing.T) {
						ctx := testContext(t)
						fe, rec := onceSetup(t, st, fault)
						calls := 3
						if fault == storeThenExit {
							calls = 1
						}
						for i := range calls {
							err := oc.call(ctx, fe)
							assert.Equal(t, codes.Unavailable, status.Code(err), "%s() call %d = %v, want code Unavailable", oc.method, i, err)
						}
						got := rec.count(oc.method)
						t.Logf("%s %s (%s): %d client calls, %d server calls", st.name, oc.method, fault, calls, got)
						assert.Equal(t, calls, got, "%s calls the server saw", oc.method)
					})
				}
			}
		})
	}
}

// TestFaultSidecarRetriesWithoutHeader shows what the header prevents: the
// same CreateTicket sent through the sidecar proxy without the SDK (no
// x-envoy-max-retries) reaches the server three times.
func TestFaultSidecarRetriesWithoutHeader(t *testing.T) {
	t.Parallel()
	ctx := testContext(t)
	rec := newRecorder()
	srv := &storingFrontend{fault: storeThenUnavailable}
	addr := startOnce(t, srv, rec)
	pods := faulttest.NewProxies(t, 3, addr)
	s, logical := sidecarProxyPods(t, pods)
	raw := pb.NewFrontendServiceClient(faultConn(t, s, logical))
	_, err := raw.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	assert.Equal(t, codes.Unavailable, status.Code(err), "raw CreateTicket() = %v, want code Unavailable", err)
	got := rec.count("CreateTicket")
	t.Logf("sidecar CreateTicket without x-envoy-max-retries: 1 client call, %d server calls", got)
	assert.Equal(t, 1+istiotest.DefaultRetries, got, "CreateTicket calls the server saw without the header")
}

func startOnce(t *testing.T, srv *storingFrontend, rec *recorder) string {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(rec.options()...)
	pb.RegisterFrontendServiceServer(gs, srv)
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-done
	})
	return lis.Addr().String()
}
