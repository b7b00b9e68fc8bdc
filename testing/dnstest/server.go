// Package dnstest runs a DNS server on loopback for tests, shaped like
// net/http/httptest: it answers A and AAAA queries for names the test sets,
// and the test can change the records, make the server answer nothing or
// fail, stop and restart it, and wait until it has seen a number of queries.
//
// Point balancer.Headless at it with Headless{DNS: balancer.DNS{Server: srv.Addr()}}, or
// grpc-go's stock resolver with the target "dns://" + srv.Addr() + "/name:port".
// It listens on 127.0.0.1 only (UDP and TCP on one port).
//
// It copies the cluster DNS of Kubernetes, CoreDNS v1.15.0's kubernetes
// plugin, where a test would notice: records carry its default TTL of 5 s
// (SetTTL changes it), and SetService answers for a headless Service as
// CoreDNS does, ready endpoints only and NXDOMAIN when none is ready.
// testing/kubernetes's TestDNSTestDriftCoreDNS compares the two answers and
// fails when they differ.
package dnstest

import (
	"context"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/internal/counter"
)

// Mode says how the server answers.
type Mode int

const (
	// Answer serves the records that were Set (NXDOMAIN for unknown names).
	Answer Mode = iota
	// Empty answers every query with NOERROR and no records.
	Empty
	// ServFail answers every query with SERVFAIL.
	ServFail
)

// Server is a DNS server on 127.0.0.1. Its methods are safe for concurrent use.
type Server struct {
	addr string

	mu      sync.Mutex
	records map[string][]netip.Addr
	mode    Mode
	ttl     uint32 // seconds
	queries counter.Counter
	names   map[string]int64 // queries per name
	run     *running         // nil while stopped
	closed  bool
}

// NewServer starts a server and closes it on t.Cleanup.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s, err := Start()
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// Start starts a server. The caller must Close it.
func Start() (*Server, error) {
	s := &Server{records: map[string][]netip.Addr{}, names: map[string]int64{}, ttl: uint32(DefaultTTL / time.Second)}
	run, err := listen("127.0.0.1:0", s)
	if err != nil {
		return nil, err
	}
	s.run = run
	s.addr = run.addr
	return s, nil
}

// Addr returns the server's "127.0.0.1:port", the same for UDP and TCP and
// across Stop and Restart.
func (s *Server) Addr() string { return s.addr }

// Set makes name resolve to ips (IPv4 for A queries, IPv6 for AAAA queries),
// replacing its previous records. It panics if an ip is not an IP literal.
func (s *Server) Set(name string, ips ...string) {
	addrs := make([]netip.Addr, len(ips))
	for i, ip := range ips {
		a, err := netip.ParseAddr(ip)
		if err != nil {
			panic(fmt.Sprintf("dnstest: Set(%q): %v", name, err))
		}
		addrs[i] = a.Unmap()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.records[canonical(name)] = addrs
}

// Endpoint is one address of a headless Service (see SetService).
type Endpoint struct {
	Addr netip.Addr
	// NotReady is an endpoint whose ready condition is false.
	NotReady bool
}

// SetService makes name answer as CoreDNS's kubernetes plugin answers for a
// headless Service with these endpoints: one record per ready endpoint,
// not-ready ones left out, and NXDOMAIN (for A and AAAA alike) when none is
// ready. testing/kubernetes's drift test holds this to CoreDNS v1.15.0.
func (s *Server) SetService(name string, eps ...Endpoint) {
	var addrs []netip.Addr
	for _, ep := range eps {
		if !ep.NotReady {
			addrs = append(addrs, ep.Addr.Unmap())
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(addrs) == 0 {
		delete(s.records, canonical(name))
		return
	}
	s.records[canonical(name)] = addrs
}

// DefaultTTL is the TTL of every record unless SetTTL changes it: 5 s, the
// kubernetes plugin's default in CoreDNS, the cluster DNS of Kubernetes.
const DefaultTTL = 5 * time.Second

// SetTTL changes the TTL of the records served from the next query on.
func (s *Server) SetTTL(ttl time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ttl = uint32(ttl / time.Second)
}

// Remove deletes name's records; queries for it get NXDOMAIN.
func (s *Server) Remove(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.records, canonical(name))
}

// SetMode changes how the server answers from the next query on.
func (s *Server) SetMode(m Mode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mode = m
}

// Queries returns how many queries the server has received.
func (s *Server) Queries() int64 { return s.queries.Load() }

// QueriedNames returns how many queries the server received for each name
// (lower case, with the final dot), such as a search-path expansion of a
// name that was not asked as absolute.
func (s *Server) QueriedNames() map[string]int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.names)
}

// WaitQueries waits until the server has received at least n queries in all,
// or ctx is done.
func (s *Server) WaitQueries(ctx context.Context, n int64) error {
	if got, err := s.queries.Wait(ctx, n); err != nil {
		return fmt.Errorf("dnstest: %d queries, want %d: %w", got, n, err)
	}
	return nil
}

// Stop stops answering: both sockets are closed, so queries are refused.
// Records and mode are kept. Stop is idempotent.
func (s *Server) Stop() {
	s.mu.Lock()
	run := s.run
	s.run = nil
	s.mu.Unlock()
	if run != nil {
		run.stop()
	}
}

// Restart serves again on the same address after Stop.
func (s *Server) Restart() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return fmt.Errorf("dnstest: restart: server closed")
	}
	if s.run != nil {
		return nil
	}
	run, err := listen(s.addr, s)
	if err != nil {
		return err
	}
	s.run = run
	return nil
}

// Close stops the server for good. It is idempotent.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.Stop()
}

// lookup returns the records and mode for one query and counts it.
func (s *Server) lookup(name string) (ips []netip.Addr, known bool, mode Mode, ttl uint32) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queries.Add()
	s.names[canonical(name)]++
	ips, known = s.records[canonical(name)]
	return ips, known, s.mode, s.ttl
}

func canonical(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, ".")) + "."
}

// freePort reports whether addr names port 0.
func freePort(addr string) bool {
	_, port, err := net.SplitHostPort(addr)
	return err == nil && port == "0"
}
