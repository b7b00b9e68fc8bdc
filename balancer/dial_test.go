package balancer_test

import (
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
)

// TestUserServiceConfigWins: a default service config given by the caller
// replaces the strategies' round_robin default. With pick_first every call
// goes to one backend.
func TestUserServiceConfigWins(t *testing.T) {
	pickFirst := grpc.WithDefaultServiceConfig(`{"loadBalancingConfig":[{"pick_first":{}}]}`)
	for _, tc := range []struct {
		name    string
		harness balancertest.Harness
	}{
		{name: "static", harness: staticHarness},
		{name: "headless", harness: headlessHarness(testRefresh)},
		{name: "sidecar", harness: sidecarHarness(testRefresh)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			bs := balancertest.StartBackends(t, 3)
			s := tc.harness(t, bs)
			conn := balancertest.Dial(t, s.Strategy, s.Addr, pickFirst)
			first, err := calltest.GetTicket(ctx, conn)
			if err != nil {
				t.Fatalf("GetTicket() = %v", err)
			}
			for i := range 30 {
				if got, err := calltest.GetTicket(ctx, conn); err != nil || got != first {
					t.Fatalf("call %d: GetTicket() = %q, %v; want %q (pick_first keeps one backend), nil", i, got, err, first)
				}
			}
		})
	}
}

// TestDNSErrorNamesServer: a failed lookup names the DNS server that was
// asked, not the system resolver.
func TestDNSErrorNamesServer(t *testing.T) {
	srv := dnstest.NewServer(t)
	srv.SetMode(dnstest.ServFail)
	conn := balancertest.Dial(t, balancer.Headless{DNS: balancer.DNS{Server: srv.Addr(), RefreshInterval: testRefresh}}, "broken.meshmatch.test:50504")
	_, err := calltest.GetTicket(testContext(t), conn)
	if status.Code(err) != codes.Unavailable || !strings.Contains(err.Error(), "on "+srv.Addr()) {
		t.Errorf("GetTicket() = %v, want code Unavailable naming the DNS server %s", err, srv.Addr())
	}
}

// TestInvalidDNSServer: a DNS server that is not "ip:port" is rejected by
// Dial, before any call.
func TestInvalidDNSServer(t *testing.T) {
	for _, tc := range []struct {
		server string
		want   string
	}{
		{server: "127.0.0.1", want: `"127.0.0.1:53"`},
		{server: "[::1]", want: "missing port"},
		{server: "dns.meshmatch.test:53", want: "not an IP address"},
		{server: "127.0.0.1:0", want: "port"},
		{server: "127.0.0.1:dns", want: "port"},
	} {
		for _, s := range []balancer.Strategy{
			balancer.Headless{DNS: balancer.DNS{Server: tc.server}},
			balancer.Sidecar{DNS: balancer.DNS{Server: tc.server}},
		} {
			conn, err := s.Dial("svc.meshmatch.test:50504")
			if err == nil {
				conn.Close()
			}
			prefix := "balancer: " + s.Name() + ": DNS server " + `"` + tc.server + `"`
			if err == nil || !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s{DNS.Server: %q}.Dial() = %v, want an error starting %q and containing %q", s.Name(), tc.server, err, prefix, tc.want)
			}
		}
	}
}
