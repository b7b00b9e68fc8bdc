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
// closed when the resolver is, so callers validate first and nothing outlives
// the connection.
func newXDSResolverBuilder(bootstrap []byte) (resolver.Builder, error) {
	b, err := grpcxds.NewXDSResolverWithConfigForTesting(bootstrap)
	if err != nil {
		return nil, fmt.Errorf("xds: resolver: %w", err)
	}
	return b, nil
}

// latePoll is how often a resolver whose bounded wait has ended still looks
// for the bootstrap file.
const latePoll = 500 * time.Millisecond

// waitingBuilder builds resolvers that wait for a bootstrap file before
// building grpc-go's xDS resolver over the same ClientConn.
type waitingBuilder struct {
	path string
	wait time.Duration
}

// Scheme returns "xds".
func (*waitingBuilder) Scheme() string { return "xds" }

// Build starts waiting for the bootstrap file and returns at once.
func (b *waitingBuilder) Build(target resolver.Target, cc resolver.ClientConn, opts resolver.BuildOptions) (resolver.Resolver, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &waitingResolver{cancel: cancel, done: make(chan struct{})}
	go r.run(ctx, b, target, cc, opts)
	return r, nil
}

// waitingResolver waits for the bootstrap file, then delegates to grpc-go's
// xDS resolver. Until the file appears the channel has no addresses, so calls
// wait within their deadlines; once the bounded wait is over the error is
// reported to the channel, so calls fail with it, and the resolver goes on
// waiting in case the file still appears.
type waitingResolver struct {
	cancel context.CancelFunc
	done   chan struct{}

	mu    sync.Mutex
	inner resolver.Resolver
}

func (r *waitingResolver) run(ctx context.Context, b *waitingBuilder, target resolver.Target, cc resolver.ClientConn, opts resolver.BuildOptions) {
	defer close(r.done)
	bctx, cancel := context.WithTimeout(ctx, b.wait)
	json, err := xdsbootstrap.WaitFile(bctx, b.path)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		cc.ReportError(fmt.Errorf("xds: bootstrap not ready after %v: %w", b.wait, err))
		if json, err = xdsbootstrap.WaitFileEvery(ctx, b.path, latePoll); err != nil {
			return
		}
	}
	if err := validate(json); err != nil {
		cc.ReportError(fmt.Errorf("xds: bootstrap %s: %w", b.path, err))
		return
	}
	rb, err := newXDSResolverBuilder(json)
	if err != nil {
		cc.ReportError(err)
		return
	}
	inner, err := rb.Build(target, cc, opts)
	if err != nil {
		cc.ReportError(fmt.Errorf("xds: resolver: %w", err))
		return
	}
	r.mu.Lock()
	r.inner = inner
	r.mu.Unlock()
}

// ResolveNow forwards to grpc-go's resolver once it exists.
func (r *waitingResolver) ResolveNow(o resolver.ResolveNowOptions) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.inner != nil {
		r.inner.ResolveNow(o)
	}
}

// Close stops waiting, joins the waiting goroutine and closes grpc-go's
// resolver, which releases its xDS client.
func (r *waitingResolver) Close() {
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
