package omclient_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/faulttest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// faultHost is the service name the fault tests dial.
const faultHost = "open-match.meshmatch.test"

// faultRefresh is the re-resolution interval of the DNS strategies in the
// fault tests.
const faultRefresh = 50 * time.Millisecond

// shortWait bounds calls that are expected to fail, and "must not happen"
// windows.
const shortWait = 300 * time.Millisecond

// faultRetry makes retries and resumed watches quick.
var faultRetry = omclient.RetryPolicy{InitialBackoff: 10 * time.Millisecond, MaxBackoff: 100 * time.Millisecond}

// faultStrategy builds a strategy whose discovery returns the given pods, and
// the logical address to dial with it.
type faultStrategy struct {
	name  string
	build func(t *testing.T, pods []*faulttest.Proxy) (balancer.Strategy, string)
}

// podStrategies are the strategies the backend-fault tests run under.
var podStrategies = []faultStrategy{
	{name: "static", build: staticPods},
	{name: "headless", build: headlessPods},
	{name: "sidecar", build: sidecarPods},
	{name: "xds", build: xdsPods},
}

func staticPods(_ *testing.T, pods []*faulttest.Proxy) (balancer.Strategy, string) {
	addrs := make([]string, len(pods))
	for i, p := range pods {
		addrs[i] = p.Addr()
	}
	return balancer.Static{Addrs: addrs}, net.JoinHostPort(faultHost, podPort(pods))
}

func headlessPods(t *testing.T, pods []*faulttest.Proxy) (balancer.Strategy, string) {
	dns := dnsFor(t, pods)
	return balancer.Headless{DNS: balancer.DNS{Server: dns.Addr(), RefreshInterval: faultRefresh}}, net.JoinHostPort(faultHost, podPort(pods))
}

func sidecarPods(t *testing.T, pods []*faulttest.Proxy) (balancer.Strategy, string) {
	dns := dnsFor(t, pods)
	agent := istiotest.NewAgent(t)
	return balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: agent.Addr(), DNS: balancer.DNS{Server: dns.Addr(), RefreshInterval: faultRefresh}},
		net.JoinHostPort(faultHost, podPort(pods))
}

func xdsPods(t *testing.T, pods []*faulttest.Proxy) (balancer.Strategy, string) {
	istiod := xdstest.NewServer(t)
	port, _ := strconv.Atoi(podPort(pods))
	addrs := make([]string, len(pods))
	for i, p := range pods {
		addrs[i] = p.Addr()
	}
	if err := istiod.SetEndpoints(faultHost, port, addrs...); err != nil {
		t.Fatalf("SetEndpoints() = %v", err)
	}
	return xdsStrategy(istiod), net.JoinHostPort(faultHost, podPort(pods))
}

// xdsStrategy returns a proxyless strategy whose bootstrap points at istiod,
// so that Detect reports it available without probing.
func xdsStrategy(istiod *xdstest.Server) xds.Strategy {
	return xds.Strategy{Bootstrap: istiod.Bootstrap(xdstest.DefaultNodeID), Env: func(string) string { return "" }}
}

// dnsFor serves the pods' IPs under faultHost.
func dnsFor(t *testing.T, pods []*faulttest.Proxy) *dnstest.Server {
	dns := dnstest.NewServer(t)
	dns.Set(faultHost, podIPs(pods)...)
	return dns
}

func podIPs(pods []*faulttest.Proxy) []string {
	ips := make([]string, len(pods))
	for i, p := range pods {
		ips[i], _, _ = net.SplitHostPort(p.Addr())
	}
	return ips
}

func podPort(pods []*faulttest.Proxy) string {
	_, port, _ := net.SplitHostPort(pods[0].Addr())
	return port
}

// podAt returns the pod whose IP is ip, or nil.
func podAt(pods []*faulttest.Proxy, ip string) *faulttest.Proxy {
	for _, p := range pods {
		if host, _, _ := net.SplitHostPort(p.Addr()); host == ip {
			return p
		}
	}
	return nil
}

// faultConn dials addr with s, quick retries and quick reconnects, and closes
// the connection when the test ends.
func faultConn(t *testing.T, s balancer.Strategy, addr string, opts ...omclient.Option) *omclient.Conn {
	t.Helper()
	opts = append([]omclient.Option{
		omclient.WithStrategy(s),
		omclient.WithRetryPolicy(faultRetry),
		omclient.WithDialOptions(balancertest.FastReconnect),
	}, opts...)
	c, err := omclient.NewConn(addr, opts...)
	if err != nil {
		t.Fatalf("NewConn(%q) = %v", addr, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// recorder is a pair of server interceptors that record, per method, the IP
// each call came from; behind faulttest proxies that is the pod's IP.
type recorder struct {
	mu      sync.Mutex
	calls   map[string][]string // short method name → peer IP per call
	changed chan struct{}
}

func newRecorder() *recorder {
	return &recorder{calls: map[string][]string{}, changed: make(chan struct{})}
}

func (r *recorder) options() []grpc.ServerOption {
	return []grpc.ServerOption{grpc.ChainUnaryInterceptor(r.unary), grpc.ChainStreamInterceptor(r.stream)}
}

func (r *recorder) record(ctx context.Context, fullMethod string) {
	ip := ""
	if p, ok := peer.FromContext(ctx); ok {
		ip, _, _ = net.SplitHostPort(p.Addr.String())
	}
	method := shortMethod(fullMethod)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls[method] = append(r.calls[method], ip)
	close(r.changed)
	r.changed = make(chan struct{})
}

func (r *recorder) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	r.record(ctx, info.FullMethod)
	return h(ctx, req)
}

func (r *recorder) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	r.record(ss.Context(), info.FullMethod)
	return h(srv, ss)
}

// shortMethod returns the method name of "/package.Service/Method".
func shortMethod(full string) string { return full[strings.LastIndexByte(full, '/')+1:] }

// count returns how many calls of method the server has received.
func (r *recorder) count(method string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls[method])
}

// wait waits until the server has received n calls of method and returns
// the IPs they came from; it fails t at ctx's deadline.
func (r *recorder) wait(t *testing.T, ctx context.Context, method string, n int) []string {
	t.Helper()
	for {
		r.mu.Lock()
		ips, changed := append([]string(nil), r.calls[method]...), r.changed
		r.mu.Unlock()
		if len(ips) >= n {
			return ips
		}
		select {
		case <-changed:
		case <-ctx.Done():
			t.Fatalf("server saw %d %s calls, want %d: %v", len(ips), method, n, ctx.Err())
		}
	}
}

// firstMessage is a client stream interceptor that closes received when the
// first message of a stream of method has arrived at the client.
type firstMessage struct {
	method   string
	received chan struct{}
	once     sync.Once
}

func newFirstMessage(method string) *firstMessage {
	return &firstMessage{method: method, received: make(chan struct{})}
}

func (f *firstMessage) option() omclient.Option {
	return omclient.WithDialOptions(grpc.WithChainStreamInterceptor(f.intercept))
}

func (f *firstMessage) intercept(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string, streamer grpc.Streamer, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	cs, err := streamer(ctx, desc, cc, method, opts...)
	if err != nil || shortMethod(method) != f.method {
		return cs, err
	}
	return &tappedStream{ClientStream: cs, f: f}, nil
}

type tappedStream struct {
	grpc.ClientStream
	f *firstMessage
}

func (s *tappedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err == nil {
		s.f.once.Do(func() { close(s.f.received) })
	}
	return err
}

// ips returns the IPs the calls of method came from.
func (r *recorder) ips(method string) []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls[method]...)
}

// podsSeen returns the pods that ips came from.
func podsSeen(pods []*faulttest.Proxy, ips []string) map[*faulttest.Proxy]bool {
	seen := map[*faulttest.Proxy]bool{}
	for _, ip := range ips {
		if p := podAt(pods, ip); p != nil {
			seen[p] = true
		}
	}
	return seen
}

// waitPodsServed calls GetTicket for a ticket the core does not know until
// every pod has served a call (each connects in its own time), paced and
// bounded like callUntil.
func waitPodsServed(t *testing.T, ctx context.Context, fe *omclient.Frontend, rec *recorder, pods []*faulttest.Proxy) {
	t.Helper()
	callUntil(t, ctx, fe, "GetTicket served by every pod", func(_ string, err error) bool {
		require.Equal(t, codes.NotFound, status.Code(err), "GetTicket() = %v, want code NotFound from the core", err)
		return len(podsSeen(pods, rec.ips("GetTicket"))) == len(pods)
	})
}
