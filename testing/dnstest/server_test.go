package dnstest_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/dnstest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func resolverFor(srv *dnstest.Server, network string) *net.Resolver {
	return &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, srv.Addr())
	}}
}

func lookup(t *testing.T, r *net.Resolver, name string) ([]string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ips, err := r.LookupNetIP(ctx, "ip", name)
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.Unmap().String()
	}
	slices.Sort(out)
	return out, err
}

func TestServer(t *testing.T) {
	for _, network := range []string{"udp", "tcp"} {
		t.Run(network, func(t *testing.T) {
			srv := dnstest.NewServer(t)
			r := resolverFor(srv, network)
			srv.Set("svc.meshmatch.test", "127.0.0.2", "127.0.0.1", "::1")

			got, err := lookup(t, r, "svc.meshmatch.test.")
			wantIPs(t, got, err, "127.0.0.1", "127.0.0.2", "::1")

			srv.Set("SVC.meshmatch.test.", "127.0.0.3")
			got, err = lookup(t, r, "svc.meshmatch.test.")
			wantIPs(t, got, err, "127.0.0.3")

			srv.Remove("svc.meshmatch.test")
			_, err = lookup(t, r, "svc.meshmatch.test.")
			var dnsErr *net.DNSError
			if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
				t.Errorf("lookup of a removed name = %v, want a not-found DNS error", err)
			}
		})
	}
}

func TestModes(t *testing.T) {
	srv := dnstest.NewServer(t)
	r := resolverFor(srv, "udp")
	srv.Set("svc.meshmatch.test", "127.0.0.1")
	for _, tc := range []struct {
		name    string
		mode    dnstest.Mode
		wantErr bool
	}{
		{name: "answer", mode: dnstest.Answer},
		{name: "empty", mode: dnstest.Empty, wantErr: true},
		{name: "servfail", mode: dnstest.ServFail, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.SetMode(tc.mode)
			got, err := lookup(t, r, "svc.meshmatch.test.")
			if tc.wantErr {
				if err == nil {
					t.Errorf("lookup = %v, want an error", got)
				}
				return
			}
			wantIPs(t, got, err, "127.0.0.1")
		})
	}
}

func TestStopRestart(t *testing.T) {
	srv := dnstest.NewServer(t)
	r := resolverFor(srv, "udp")
	srv.Set("svc.meshmatch.test", "127.0.0.1")
	before := srv.Queries()

	srv.Stop()
	srv.Stop()
	if got, err := lookup(t, r, "svc.meshmatch.test."); err == nil {
		t.Errorf("lookup while stopped = %v, want an error", got)
	}

	if err := srv.Restart(); err != nil {
		t.Fatalf("Restart() = %v", err)
	}
	got, err := lookup(t, r, "svc.meshmatch.test.")
	wantIPs(t, got, err, "127.0.0.1")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.WaitQueries(ctx, before+1); err != nil {
		t.Errorf("WaitQueries(%d) = %v", before+1, err)
	}
	short, cancel2 := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel2()
	if err := srv.WaitQueries(short, srv.Queries()+1000); err == nil {
		t.Errorf("WaitQueries for queries that never come = nil, want an error")
	}
}

func TestSetPanicsOnBadIP(t *testing.T) {
	srv := dnstest.NewServer(t)
	defer func() {
		if recover() == nil {
			t.Errorf("Set with an invalid IP did not panic")
		}
	}()
	srv.Set("svc.meshmatch.test", "not-an-ip")
}

func TestStartClose(t *testing.T) {
	srv, err := dnstest.Start()
	if err != nil {
		t.Fatalf("Start() = %v", err)
	}
	if _, err := netip.ParseAddrPort(srv.Addr()); err != nil {
		t.Errorf("Addr() = %q, want ip:port: %v", srv.Addr(), err)
	}
	srv.Close()
	srv.Close()
	if err := srv.Restart(); err == nil {
		t.Errorf("Restart() after Close = nil, want an error")
	}
}

func wantIPs(t *testing.T, got []string, err error, want ...string) {
	t.Helper()
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("lookup = %v, %v; want %v, nil", got, err, want)
	}
}
