package endpointslice

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/resolver"
	discoveryv1 "k8s.io/api/discovery/v1"
)

// Backoff between failed lists or watches: doubling from minBackoff to
// maxBackoff, with jitter.
const (
	minBackoff = 100 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// listTimeout bounds one list request.
const listTimeout = 10 * time.Second

// NewBuilder returns a resolver.Builder under scheme that watches t's
// EndpointSlices through the API server c describes.
// It records in why the reason while there are no endpoints.
func NewBuilder(scheme string, c Config, t Target, why *Why, logger *slog.Logger) resolver.Builder {
	return &builder{scheme: scheme, c: c, t: t, why: why, log: logger}
}

type builder struct {
	scheme string
	c      Config
	t      Target
	why    *Why
	log    *slog.Logger
}

func (b *builder) Scheme() string { return b.scheme }

func (b *builder) Build(_ resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	ctx, cancel := context.WithCancel(context.Background())
	r := &watchResolver{c: b.c, t: b.t, why: b.why, log: b.log, cc: cc, ctx: ctx, cancel: cancel}
	r.wg.Add(1)
	go r.run()
	return r, nil
}

type watchResolver struct {
	c      Config
	t      Target
	why    *Why
	log    *slog.Logger
	cc     resolver.ClientConn
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	slices Slices   // last known slices; nil before the first list
	rv     string   // resourceVersion to watch from; "" means list first
	have   []string // addresses last pushed; nil before the first push
}

// ResolveNow does nothing: the watch pushes every change.
func (*watchResolver) ResolveNow(resolver.ResolveNowOptions) {}

// Close stops the watch and waits for it.
func (r *watchResolver) Close() {
	r.cancel()
	r.wg.Wait()
}

func (r *watchResolver) run() {
	defer r.wg.Done()
	timer := time.NewTimer(0)
	<-timer.C
	defer timer.Stop()
	failures := 0
	for {
		err := r.session(&failures)
		if r.ctx.Err() != nil {
			return
		}
		wait := minBackoff // the API server ended the watch: watch again
		switch {
		case errors.Is(err, errGone):
			r.rv = ""
			continue
		case err != nil:
			r.failed(err)
			failures++
			wait = backoff(failures)
		}
		timer.Reset(wait)
		select {
		case <-r.ctx.Done():
			return
		case <-timer.C:
		}
	}
}

// backoff returns the wait after n consecutive failures.
func backoff(n int) time.Duration {
	d := maxBackoff
	if n < 6 {
		d = min(minBackoff<<(n-1), maxBackoff)
	}
	return d/2 + rand.N(d/2+1)
}

// session lists (unless a resourceVersion is known) and watches until the
// watch fails. It returns nil when the API server ended the watch normally.
func (r *watchResolver) session(failures *int) error {
	cl, err := r.c.connect(&r.t)
	if err != nil {
		return err
	}
	defer cl.close()
	if r.rv == "" {
		if err := r.list(cl); err != nil {
			return err
		}
	}
	// The API server ends the watch after watchTimeout; the client gives up
	// a little later in case the server went silent.
	ctx, cancel := context.WithTimeout(r.ctx, (watchTimeout+30)*time.Second)
	defer cancel()
	w, err := cl.watch(ctx, r.t, r.rv)
	if err != nil {
		return err
	}
	defer w.close()
	*failures = 0
	for {
		typ, s, err := w.next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		r.apply(typ, s)
	}
}

func (r *watchResolver) list(cl *client) error {
	ctx, cancel := context.WithTimeout(r.ctx, listTimeout)
	defer cancel()
	l, err := cl.list(ctx, r.t)
	if err != nil {
		return err
	}
	r.slices = Slices{}
	for i := range l.Items {
		r.slices[l.Items[i].Name] = &l.Items[i]
	}
	r.rv = l.ResourceVersion
	r.push()
	return nil
}

// apply records one watch event and pushes the addresses if they changed.
func (r *watchResolver) apply(typ string, s *discoveryv1.EndpointSlice) {
	if s.ResourceVersion != "" {
		r.rv = s.ResourceVersion
	}
	switch typ {
	case "ADDED", "MODIFIED":
		r.slices[s.Name] = s
	case "DELETED":
		delete(r.slices, s.Name)
	default: // BOOKMARK: only the resourceVersion
		return
	}
	r.push()
}

// push sends the current addresses to gRPC when they changed. With none it
// fails new calls with an error naming the Service.
func (r *watchResolver) push() {
	addrs := r.slices.Addrs(r.t)
	if r.have != nil && slices.Equal(addrs, r.have) {
		return
	}
	r.log.Debug("endpointslice: addresses changed", "service", r.t.String(), "addresses", addrs, "previous", r.have)
	had := r.have != nil
	r.have = addrs
	if len(addrs) == 0 {
		err := r.slices.Empty(r.t)
		r.why.set(err.Error())
		if had {
			// Drop the old endpoints; round_robin refuses the empty state
			// and fails calls, which the Why interceptors explain.
			_ = r.cc.UpdateState(resolver.State{})
		}
		r.cc.ReportError(err)
		return
	}
	r.why.set("")
	if err := r.cc.UpdateState(state(addrs)); err != nil {
		r.have = nil // push again on the next event
	}
}

// failed keeps the last known addresses while the API server cannot be
// reached; it fails calls only while there have never been any.
func (r *watchResolver) failed(err error) {
	if r.have == nil {
		r.why.set(err.Error())
		r.cc.ReportError(err)
		return
	}
	r.log.Warn("endpointslice: watch failed, keeping the last known endpoints", "service", r.t.String(), "addresses", r.have, "error", err)
}
