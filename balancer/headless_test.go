package balancer_test

import (
	"context"
	"errors"
	"net/netip"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/internal/dnsresolver"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
)

func TestHeadlessNoRecords(t *testing.T) {
	srv := dnstest.NewServer(t)
	conn := balancertest.Dial(t, balancer.Headless{DNS: balancer.DNS{Server: srv.Addr(), RefreshInterval: testRefresh}}, "missing.meshmatch.test:50504")
	_, err := calltest.GetTicket(testContext(t), conn)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "missing.meshmatch.test") {
		t.Errorf("GetTicket() = %v, want code Unavailable and the name in the message", err)
	}
}

func TestHeadlessKeepsLastGoodAddresses(t *testing.T) {
	for _, tc := range []struct {
		name     string
		breakDNS func(*dnstest.Server)
	}{
		{name: "server down", breakDNS: (*dnstest.Server).Stop},
		{name: "servfail", breakDNS: func(s *dnstest.Server) { s.SetMode(dnstest.ServFail) }},
		{name: "empty answer", breakDNS: func(s *dnstest.Server) { s.SetMode(dnstest.Empty) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			bs := balancertest.StartBackends(t, 3)
			srv, addr, _ := dnsBackends(t, bs)
			failures := make(chan error, 1000)
			upstream := dnsresolver.NewLookup(srv.Addr())
			lookup := func(ctx context.Context, host string) ([]netip.Addr, error) {
				ips, err := upstream(ctx, host)
				if err == nil && len(ips) == 0 {
					err = errors.New("no addresses")
				}
				if err != nil {
					failures <- err
				}
				return ips, err
			}
			conn := balancertest.Dial(t, balancer.Headless{DNS: balancer.DNS{Lookup: lookup, RefreshInterval: testRefresh}}, addr)
			for _, b := range bs {
				waitServedBy(t, ctx, conn, b.Name)
			}
			tc.breakDNS(srv)
			for range 3 {
				select {
				case <-failures:
				case <-ctx.Done():
					t.Fatalf("no failed lookup after breaking DNS")
				}
			}
			for _, b := range bs {
				waitServedBy(t, ctx, conn, b.Name)
			}
		})
	}
}

func TestHeadlessIPLiteral(t *testing.T) {
	bs := balancertest.StartBackends(t, 1)
	lookup := func(context.Context, string) ([]netip.Addr, error) {
		t.Errorf("lookup called for an IP literal")
		return nil, errors.New("unexpected")
	}
	conn := balancertest.Dial(t, balancer.Headless{DNS: balancer.DNS{Lookup: lookup}}, bs[0].Addr)
	if got, err := calltest.GetTicket(testContext(t), conn); err != nil || got != bs[0].Name {
		t.Errorf("GetTicket() = %q, %v; want %q, nil", got, err, bs[0].Name)
	}
}

func TestInvalidAddresses(t *testing.T) {
	for _, s := range []balancer.Strategy{balancer.Headless{}, balancer.Sidecar{}, balancer.Static{Addrs: []string{"127.0.0.1:1"}}, balancer.Auto{}} {
		for _, tc := range []struct {
			addr string
			want string
		}{
			{addr: "svc.ns", want: "missing port"},
			{addr: "svc.ns:99999", want: "port"},
			{addr: "svc.ns:grpc", want: "port"},
			{addr: "svc ns:80", want: "label"},
		} {
			_, err := s.Dial(tc.addr)
			prefix := "balancer: " + s.Name() + ": invalid address"
			if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s.Dial(%q) = %v, want an error starting %q and containing %q", s.Name(), tc.addr, err, prefix, tc.want)
			}
		}
	}
	_, err := balancer.Static{Addrs: []string{"127.0.0.1"}}.Dial("svc.ns:80")
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1") {
		t.Errorf("Static with a bad address: Dial() = %v, want an error naming it", err)
	}
	if d := (balancer.Static{}).Detect(context.Background(), "svc.ns:80"); d.Available {
		t.Errorf("Static{}.Detect() = %+v, want unavailable", d)
	}
}
