package dnsresolver

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc/resolver"

	"github.com/meshmatch/meshmatch/internal/counter"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeCC records what the resolver reports.
type fakeCC struct {
	resolver.ClientConn
	states chan resolver.State
	errs   chan error
}

func newFakeCC() *fakeCC {
	return &fakeCC{states: make(chan resolver.State, 100), errs: make(chan error, 100)}
}

func (f *fakeCC) UpdateState(s resolver.State) error { f.states <- s; return nil }
func (f *fakeCC) ReportError(err error)              { f.errs <- err }

// fakeLookup answers from a script the test changes and signals each call.
type fakeLookup struct {
	mu    sync.Mutex
	ips   []netip.Addr
	err   error
	calls chan struct{}
}

func (l *fakeLookup) set(err error, ips ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.err, l.ips = err, nil
	for _, ip := range ips {
		l.ips = append(l.ips, netip.MustParseAddr(ip))
	}
}

func (l *fakeLookup) lookup(context.Context, string) ([]netip.Addr, error) {
	l.mu.Lock()
	ips, err := l.ips, l.err
	l.mu.Unlock()
	l.calls <- struct{}{}
	return ips, err
}

func build(t *testing.T, l *fakeLookup, refresh time.Duration) (*fakeCC, resolver.Resolver) {
	cc := newFakeCC()
	b := NewBuilder(Config{Scheme: "test", Host: "svc.test", Port: "50504", Lookup: l.lookup, Refresh: refresh, MinInterval: time.Millisecond})
	r, err := b.Build(resolver.Target{}, cc, resolver.BuildOptions{})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	t.Cleanup(r.Close)
	return cc, r
}

func waitFor[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case v := <-ch:
		return v
	case <-timer.C:
		t.Fatalf("timed out waiting for %s", what)
	}
	var zero T
	return zero
}

func addrsOf(s resolver.State) string {
	var out []string
	for _, e := range s.Endpoints {
		out = append(out, e.Addresses[0].Addr)
	}
	return strings.Join(out, ",")
}

func TestPushesOnlyChangesAndKeepsLastGood(t *testing.T) {
	l := &fakeLookup{calls: make(chan struct{}, 1000)}
	l.set(nil, "127.0.0.2", "127.0.0.1", "127.0.0.1")
	cc, _ := build(t, l, time.Millisecond)

	if got, want := addrsOf(waitFor(t, cc.states, "first state")), "127.0.0.1:50504,127.0.0.2:50504"; got != want {
		t.Errorf("first state = %s, want %s", got, want)
	}
	for _, step := range []struct {
		name string
		err  error
		ips  []string
	}{
		{name: "unchanged", ips: []string{"127.0.0.1", "127.0.0.2"}},
		{name: "failure", err: errors.New("servfail")},
		{name: "empty"},
	} {
		l.set(step.err, step.ips...)
		drain(l.calls)
		waitFor(t, l.calls, step.name+" lookup")
		waitFor(t, l.calls, step.name+" second lookup")
		select {
		case s := <-cc.states:
			t.Errorf("%s: UpdateState(%s), want no update", step.name, addrsOf(s))
		case err := <-cc.errs:
			t.Errorf("%s: ReportError(%v) after having addresses, want none", step.name, err)
		default:
		}
	}
	l.set(nil, "::1")
	if got, want := addrsOf(waitFor(t, cc.states, "changed state")), "[::1]:50504"; got != want {
		t.Errorf("changed state = %s, want %s", got, want)
	}
}

func TestReportsErrorUntilFirstAddresses(t *testing.T) {
	l := &fakeLookup{calls: make(chan struct{}, 1000)}
	l.set(errors.New("no such host"))
	cc, _ := build(t, l, time.Millisecond)
	err := waitFor(t, cc.errs, "ReportError")
	if !strings.Contains(err.Error(), "svc.test") {
		t.Errorf("ReportError(%v), want the host name in it", err)
	}
	l.set(nil, "127.0.0.1")
	waitFor(t, cc.states, "state after recovery")
}

func TestResolveNow(t *testing.T) {
	l := &fakeLookup{calls: make(chan struct{}, 1000)}
	l.set(nil, "127.0.0.1")
	_, r := build(t, l, time.Hour)
	waitFor(t, l.calls, "first lookup")
	r.ResolveNow(resolver.ResolveNowOptions{})
	waitFor(t, l.calls, "lookup after ResolveNow")
}

func TestLiteralNeedsNoLookup(t *testing.T) {
	cc := newFakeCC()
	fail := func(context.Context, string) ([]netip.Addr, error) {
		t.Errorf("lookup called for an IP literal")
		return nil, errors.New("unexpected")
	}
	b := NewBuilder(Config{Scheme: "test", Host: "::1", Port: "1", Lookup: fail, Refresh: time.Hour})
	r, err := b.Build(resolver.Target{}, cc, resolver.BuildOptions{})
	if err != nil {
		t.Fatalf("Build() = %v", err)
	}
	defer r.Close()
	if got := addrsOf(waitFor(t, cc.states, "state")); got != "[::1]:1" {
		t.Errorf("state = %s, want [::1]:1", got)
	}
}

func drain(ch chan struct{}) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func TestSplitHostPort(t *testing.T) {
	for _, tc := range []struct {
		addr    string
		wantErr string
	}{
		{addr: "svc.ns.svc.cluster.local:50504"},
		{addr: "127.0.0.1:1"},
		{addr: "[::1]:65535"},
		{addr: "_grpc.svc:80"},
		{addr: "", wantErr: "missing port"},
		{addr: "svc", wantErr: "missing port"},
		{addr: "svc:", wantErr: "port"},
		{addr: "svc:0", wantErr: "port"},
		{addr: "svc:65536", wantErr: "port"},
		{addr: "svc:http", wantErr: "port"},
		{addr: "svc:+80", wantErr: "port"},
		{addr: "svc:0080", wantErr: "port"},
		{addr: ":80", wantErr: "missing host"},
		{addr: "bad host:80", wantErr: "label"},
		{addr: "-svc:80", wantErr: "label"},
		{addr: "a..b:80", wantErr: "label"},
	} {
		t.Run(tc.addr, func(t *testing.T) {
			_, _, err := SplitHostPort(tc.addr)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("SplitHostPort(%q) = %v, want nil", tc.addr, err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("SplitHostPort(%q) = %v, want an error containing %q", tc.addr, err, tc.wantErr)
			}
		})
	}
}

// TestRefreshDefault: a Refresh of zero or less means DefaultRefresh, not
// lookups in a tight loop.
func TestRefreshDefault(t *testing.T) {
	for _, refresh := range []time.Duration{0, -time.Second} {
		t.Run(refresh.String(), func(t *testing.T) {
			var lookups counter.Counter
			lookup := func(context.Context, string) ([]netip.Addr, error) {
				lookups.Add()
				return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
			}
			b := NewBuilder(Config{Scheme: "test", Host: "svc.test", Port: "50504", Lookup: lookup, Refresh: refresh})
			r, err := b.Build(resolver.Target{}, newFakeCC(), resolver.BuildOptions{})
			if err != nil {
				t.Fatalf("Build() = %v", err)
			}
			defer r.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if _, err := lookups.Wait(ctx, 1); err != nil {
				t.Fatalf("no first lookup: %v", err)
			}
			quiet, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
			defer cancel()
			if got, err := lookups.Wait(quiet, 2); err == nil {
				t.Errorf("Refresh %v: lookup %d within 200ms of the first, want none before DefaultRefresh (%v)", refresh, got, DefaultRefresh)
			}
		})
	}
}
