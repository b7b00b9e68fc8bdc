package istiotest

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	"github.com/meshmatch/meshmatch/internal/counter"
)

// DefaultRetries is the number of retries of Istio's default HTTP route
// (the route istiod generates for a service without a VirtualService):
// retry_policy {retry_on: "connect-failure,refused-stream,unavailable,
// cancelled,retriable-status-codes", num_retries: 2, retry_host_predicate:
// previous_hosts}.
const DefaultRetries = 2

// maxRetriesHeader is the request header with which Envoy's router lets a
// downstream it treats as internal override the route's num_retries.
const maxRetriesHeader = "x-envoy-max-retries"

// Proxy stands in for the outbound listener of an Istio sidecar: a gRPC
// (HTTP/2) proxy on loopback that balances each call over its upstream
// addresses and retries it the way Envoy's router does on Istio's default
// route:
//
//   - a call is retried up to DefaultRetries times when the upstream
//     attempt fails before any response message was sent downstream with
//     gRPC status UNAVAILABLE (which is also what a refused connection, a
//     refused stream or a connection reset look like) or CANCELLED
//     (Envoy's retry_on "connect-failure,refused-stream,unavailable,
//     cancelled"); Istio configures no retriable HTTP status codes;
//   - a retry goes to a host not tried yet for the call when there is one
//     (retry_host_predicate previous_hosts);
//   - the request header x-envoy-max-retries, when it parses as a number,
//     replaces num_retries for that call (Envoy's router documents that the
//     header takes precedence over the route's retry policy; a sidecar's
//     outbound listener sets use_remote_address, so the app's loopback
//     connection counts as internal and the header is honoured). Headers
//     starting with x-envoy- are not passed upstream.
//
// Unlike Envoy it reads every request message of a call before the first
// attempt (all Open-Match RPCs send their requests before reading), and it
// does no mTLS. SetRetries(false) turns retrying off, like a VirtualService
// with retries.attempts 0.
type Proxy struct {
	lis  net.Listener
	gs   *grpc.Server
	done chan struct{}

	mu       sync.Mutex
	ups      map[string]*grpc.ClientConn // by upstream address
	addrs    []string                    // the upstreams, in round-robin order
	retired  []*grpc.ClientConn          // removed upstreams, closed by Close
	next     int
	retries  bool
	attempts counter.Counter
}

// NewProxy starts a sidecar proxy on 127.0.0.1 in front of upstreams
// ("host:port" each) and closes it when the test ends.
func NewProxy(t testing.TB, upstreams ...string) *Proxy {
	t.Helper()
	p, err := StartProxy(upstreams...)
	if err != nil {
		t.Fatalf("istiotest: %v", err)
	}
	t.Cleanup(p.Close)
	return p
}

// StartProxy starts a sidecar proxy on 127.0.0.1 in front of upstreams. The
// caller must Close it.
func StartProxy(upstreams ...string) (*Proxy, error) {
	return StartProxyAt("127.0.0.1:0", upstreams...)
}

// StartProxyAt starts a sidecar proxy listening on addr in front of
// upstreams, for example again on the address of a proxy that was closed,
// as a restarted sidecar listens on its pod's port again. The caller must
// Close it.
func StartProxyAt(addr string, upstreams ...string) (*Proxy, error) {
	p := &Proxy{ups: map[string]*grpc.ClientConn{}, retries: true, done: make(chan struct{})}
	if err := p.SetUpstreams(upstreams...); err != nil {
		return nil, err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		p.closeUpstreams()
		return nil, fmt.Errorf("istiotest: proxy: listen: %w", err)
	}
	p.lis = lis
	p.gs = grpc.NewServer(grpc.ForceServerCodec(rawCodec{}), grpc.UnknownServiceHandler(p.handle))
	go func() {
		defer close(p.done)
		_ = p.gs.Serve(lis)
	}()
	return p, nil
}

// SetUpstreams replaces the upstream addresses, as Envoy's endpoints change
// when istiod pushes new ones: calls from now on go to these; calls in
// flight to a removed upstream finish there. It refuses an empty list.
func (p *Proxy) SetUpstreams(upstreams ...string) error {
	if len(upstreams) == 0 {
		return errors.New("istiotest: proxy: no upstream addresses")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	keep := map[string]bool{}
	for _, a := range upstreams {
		keep[a] = true
		if p.ups[a] != nil {
			continue
		}
		cc, err := grpc.NewClient("passthrough:///"+a, grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			return fmt.Errorf("istiotest: proxy: upstream %s: %w", a, err)
		}
		p.ups[a] = cc
	}
	for a, cc := range p.ups {
		if !keep[a] {
			// Closing would cancel calls in flight on cc: let them
			// finish, and close it with the proxy.
			p.retired = append(p.retired, cc)
			delete(p.ups, a)
		}
	}
	p.addrs = append([]string(nil), upstreams...)
	p.next = 0
	return nil
}

// Addr returns the proxy's "127.0.0.1:port".
func (p *Proxy) Addr() string { return p.lis.Addr().String() }

// SetRetries turns the route's retries on (the default) or off.
func (p *Proxy) SetRetries(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retries = on
}

// Attempts returns how many upstream attempts the proxy has made in all.
func (p *Proxy) Attempts() int64 { return p.attempts.Load() }

// Close stops the proxy and its upstream connections. It is idempotent.
func (p *Proxy) Close() {
	p.gs.Stop()
	<-p.done
	p.closeUpstreams()
}

func (p *Proxy) closeUpstreams() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cc := range p.ups {
		cc.Close()
	}
	for _, cc := range p.retired {
		cc.Close()
	}
}

// budget returns the retries allowed for a call with incoming metadata md.
func (p *Proxy) budget(md metadata.MD) int {
	p.mu.Lock()
	on := p.retries
	p.mu.Unlock()
	if !on {
		return 0
	}
	if v := md.Get(maxRetriesHeader); len(v) > 0 {
		if n, err := strconv.Atoi(v[0]); err == nil && n >= 0 {
			return n
		}
	}
	return DefaultRetries
}

// pick returns the next upstream in round-robin order that is not in tried,
// or the next one if all were tried, and its connection.
func (p *Proxy) pick(tried map[string]bool) (string, *grpc.ClientConn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for range p.addrs {
		a := p.addrs[p.next]
		p.next = (p.next + 1) % len(p.addrs)
		if !tried[a] {
			return a, p.ups[a]
		}
	}
	a := p.addrs[p.next]
	p.next = (p.next + 1) % len(p.addrs)
	return a, p.ups[a]
}

// upstreamMD is md without the headers Envoy consumes or sets itself.
func upstreamMD(md metadata.MD) metadata.MD {
	out := metadata.MD{}
	for k, v := range md {
		if strings.HasPrefix(k, ":") || strings.HasPrefix(k, "x-envoy-") || k == "content-type" || k == "user-agent" {
			continue
		}
		out[k] = v
	}
	return out
}

// readAll reads the request messages of a call until the client half-closes.
func readAll(ss grpc.ServerStream) ([]*frame, error) {
	var reqs []*frame
	for {
		f := &frame{}
		err := ss.RecvMsg(f)
		if errors.Is(err, io.EOF) {
			return reqs, nil
		}
		if err != nil {
			return nil, err
		}
		reqs = append(reqs, f)
	}
}
