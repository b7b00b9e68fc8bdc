package xds

import (
	"context"
	"fmt"
	"sync"
	"time"

	"google.golang.org/grpc/resolver"
	grpcxds "google.golang.org/grpc/xds"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
)

// newXDSResolverBuilder returns grpc-go's xDS resolver for bootstrap.
//
// grpc-go reads its bootstrap from the environment once per process and has
// no public way to give one connection its own bootstrap except
// NewXDSResolverWithConfigForTesting (experimental; grpc-go issue #8432). It
// is kept behind this one function so that a replacement is a one-line
// change. The builder parses bootstrap only when a connection builds its
// resolver, and each build makes its own xDS client pool whose client is
// closed when the resolver is: nothing is shared between connections, so a
// connection dialed after an istiod outage starts from scratch.
func newXDSResolverBuilder(bootstrap []byte) (resolver.Builder, error) {
	b, err := grpcxds.NewXDSResolverWithConfigForTesting(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("xds: resolver: %w", err)
	}
	return b, nil
}

// buildXDS builds grpc-go's xDS resolver for bootstrap over cc.
func buildXDS(bootstrap []byte, target resolver.Target, cc resolver.ClientConn, opts resolver.BuildOptions) (resolver.Resolver, error) {
	rb, err := newXDSResolverBuilder(bootstrap)
	if err != nil {
		return nil, err
	}
	return rb.Build(target, cc, opts)
}

// latePoll is how often a resolver whose bounded wait has ended, or whose
// bootstrap grpc-go rejected, reads the bootstrap file again.
const latePoll = 500 * time.Millisecond

// builder builds the resolver of one connection: grpc-go's xDS resolver
// over a bootstrap known at Dial (json), or over the file at path, read
// each time the resolver is built.
type builder struct {
	what  string // the bootstrap's source, for errors
	json  []byte
	path  string
	wait  time.Duration
	track *tracker
}

// Scheme returns "xds".
func (*builder) Scheme() string { return "xds" }

// Build returns grpc-go's resolver at once for a known bootstrap; for a
// file it returns a resolver that reads the file in the background.
func (b *builder) Build(target resolver.Target, cc resolver.ClientConn, opts resolver.BuildOptions) (resolver.Resolver, error) {
	tcc := &trackingCC{ClientConn: cc, t: b.track}
	if b.json != nil {
		b.track.running(b.json)
		r, err := buildXDS(b.json, target, tcc, opts)
		if err != nil {
			return nil, fmt.Errorf("xds: %s: %w", b.what, err)
		}
		return r, nil
	}
	b.track.waiting(b.path)
	ctx, cancel := context.WithCancel(context.Background())
	r := &fileResolver{cancel: cancel, done: make(chan struct{})}
	go r.run(ctx, b, func(json []byte) (resolver.Resolver, error) { return buildXDS(json, target, tcc, opts) }, tcc)
	return r, nil
}

// fileResolver waits for the bootstrap file, then delegates to grpc-go's
// xDS resolver. Until the file appears the channel has no addresses, so
// calls wait within their deadlines; once the bounded wait is over the error
// is reported to the channel, so calls fail with it. It goes on reading the
// file until grpc-go accepts a bootstrap from it: a file that is still
// missing, invalid, or that grpc-go rejects is read again every latePoll,
// so a file the Istio agent writes or rewrites later is used.
type fileResolver struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	inner resolver.Resolver
}

func (r *fileResolver) run(ctx context.Context, b *builder, build func([]byte) (resolver.Resolver, error), cc resolver.ClientConn) {
	defer close(r.done)
	json, err := b.firstRead(ctx)
	for {
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			cc.ReportError(err)
			// Only a rewritten file is worth another try.
			json, err = xdsbootstrap.Wait{Interval: latePoll, Check: validate, Skip: json}.File(ctx, b.path)
			continue
		}
		b.track.running(json)
		inner, berr := build(json)
		if berr == nil {
			r.set(inner)
			return
		}
		err = fmt.Errorf("xds: %s: %w", b.what, berr)
	}
}

// firstRead waits at most b.wait for a usable bootstrap file.
func (b *builder) firstRead(ctx context.Context) ([]byte, error) {
	wctx, cancel := context.WithTimeout(ctx, b.wait)
	defer cancel()
	json, err := xdsbootstrap.Wait{Check: validate}.File(wctx, b.path)
	if err != nil {
		return nil, fmt.Errorf("xds: %s: no usable bootstrap after %v: %w", b.what, b.wait, err)
	}
	return json, nil
}

func (r *fileResolver) set(inner resolver.Resolver) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.inner = inner
}

// ResolveNow forwards to grpc-go's resolver once it exists.
func (r *fileResolver) ResolveNow(o resolver.ResolveNowOptions) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inner != nil {
		r.inner.ResolveNow(o)
	}
}

// Close stops reading, joins the reading goroutine and closes grpc-go's
// resolver, which releases its xDS client.
func (r *fileResolver) Close() {
	r.cancel()
	<-r.done
	r.mu.Lock()
	inner := r.inner
	r.inner = nil
	r.mu.Unlock()
	if inner != nil {
		inner.Close()
	}
}
