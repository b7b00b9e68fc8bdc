package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// mmfName is the DNS name the embedded core reaches the replicas at.
const mmfName = "mmf.quickstart.test"

// Timing of the embedded core and of the core's view of the replicas.
const (
	// registrationWindow is how long a synchronizer cycle takes in
	// FetchMatches calls (Open-Match's Helm default is 250 ms, which
	// examples/omcore uses; omtest's test default is 50 ms). The demo picks
	// a value in between so that its rounds are quick yet visibly batched.
	registrationWindow = 100 * time.Millisecond
	// mmfRefresh is how often the core looks mmfName up again.
	mmfRefresh = time.Second
)

// conn is a client connection and why the quickstart made it so.
type conn struct {
	*omclient.Conn
	name string // the service it reaches
	why  string // why this strategy; empty when Auto chose
}

// services are the Open-Match services the run talks to and the
// connections to them.
type services struct {
	core      *omtest.Server                    // nil with a real Open-Match
	coreNote  string                            // how the core's replicas are placed; "" for one listener
	coreBase  map[omtest.Service][]replicaCalls // the replicas' calls before the run
	dns       *dnstest.Server                   // nil with a real Open-Match
	fe, be, q conn
	mmf       conn // the core's connection to the replicas; nil Conn with a real Open-Match
}

func (s *services) conns() []conn {
	out := []conn{s.fe, s.be, s.q}
	if s.mmf.Conn != nil {
		out = append(out, s.mmf)
	}
	return out
}

// startServices connects to a real Open-Match, or starts the embedded core
// with the replicas behind a name of the loopback DNS server.
func startServices(c config, rs *replicas, tel *telemetry) (*services, error) {
	if c.external() {
		return connectAll(&services{}, c.frontend, c.backend, c.query, tel.options(), "")
	}
	s := &services{}
	if err := s.startMMFConn(c, rs, tel); err != nil {
		s.close()
		return nil, err
	}
	if err := s.startCore(c, tel); err != nil {
		s.close()
		return nil, err
	}
	return s.connectCore(c, tel)
}

// startCore starts the embedded core: one listener for every service, or
// with -core-replicas n, n replicas of each over one state on 127.0.0.1 to
// 127.0.0.n with one port per service, like the pods behind Open-Match's
// headless Services. Where 127.0.0.2 cannot be bound (macOS) the replicas
// fall back to n ports on 127.0.0.1. Each gRPC server of the core records
// its calls in a meter of its own (tel.addCoreReplica).
func (s *services) startCore(c config, tel *telemetry) error {
	target := s.mmf.Addr()
	cfg := omtest.Config{
		MeterProvider:        tel.conns.mp,
		ReplicaMeterProvider: tel.addCoreReplica,
		RegistrationInterval: registrationWindow,
		Dialer: func(t string) (grpc.ClientConnInterface, io.Closer, error) {
			if t != target {
				return nil, nil, fmt.Errorf("quickstart: the core dials only %s, not %s", target, t)
			}
			return s.mmf.Conn, s.mmf.Conn, nil
		},
	}
	n := c.coreReplicas
	if n > 1 {
		cfg.Replicas = &omtest.Replicas{Count: n}
		s.coreNote = fmt.Sprintf("one port per service on %d loopback addresses, like the pods of a headless Service", n)
	}
	core, err := c.startCore(cfg)
	if err != nil && n > 1 && errors.Is(err, syscall.EADDRNOTAVAIL) {
		cfg.Replicas = &omtest.Replicas{Count: n, FrontendAddrs: onLoopback(n), BackendAddrs: onLoopback(n), QueryAddrs: onLoopback(n)}
		s.coreNote = fmt.Sprintf("fallback: %v, so the core's replicas use %d ports on 127.0.0.1", err, n)
		core, err = c.startCore(cfg)
	}
	if err != nil {
		return err
	}
	s.core = core
	return nil
}

// onLoopback is n free-port addresses on 127.0.0.1.
func onLoopback(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = "127.0.0.1:0"
	}
	return out
}

// coreServices are the embedded core's services in the order the summary
// shows them.
var coreServices = []omtest.Service{omtest.ServiceFrontend, omtest.ServiceBackend, omtest.ServiceQuery}

// connectCore connects the run's clients to the embedded core: static to
// its one address; with replicas on one port of several addresses, the
// headless strategy over a name per service in the loopback DNS server
// listing them, as a headless Service would; otherwise static round robin
// over the replicas' addresses.
func (s *services) connectCore(c config, tel *telemetry) (*services, error) {
	core := s.core
	if c.coreReplicas == 1 {
		static := balancer.Static{Addrs: []string{core.Addr()}}
		why := "the embedded core listens on one known loopback address; there is nothing to discover"
		return connectAll(s, core.FrontendAddr(), core.BackendAddr(), core.QueryAddr(), append(tel.options(), omclient.WithStrategy(static)), why)
	}
	var targets [3]coreTarget
	for i, svc := range coreServices {
		t, err := s.coreTarget(svc, core.ReplicaAddrs(svc))
		if err != nil {
			s.close()
			return nil, err
		}
		targets[i] = t
	}
	for i, x := range []*conn{&s.fe, &s.be, &s.q} {
		cc, err := omclient.NewConn(targets[i].addr, append(tel.options(), omclient.WithStrategy(targets[i].strategy))...)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("quickstart: %s: %w", coreServices[i], err)
		}
		*x = conn{Conn: cc, name: string(coreServices[i]), why: targets[i].why}
	}
	return s, nil
}

// coreTarget is how the run's client reaches one service's replicas.
type coreTarget struct {
	addr     string
	strategy balancer.Strategy
	why      string
}

// coreName is the DNS name of svc's replicas in the loopback DNS server.
func coreName(svc omtest.Service) string { return "om-" + string(svc) + ".quickstart.test" }

func (s *services) coreTarget(svc omtest.Service, addrs []string) (coreTarget, error) {
	port, ips, ok := samePort(addrs)
	if !ok {
		return coreTarget{addr: addrs[0], strategy: balancer.Static{Addrs: addrs},
			why: fmt.Sprintf("the core's %d %s replicas are on ports of one address, which DNS cannot list", len(addrs), svc)}, nil
	}
	if s.dns == nil {
		dns, err := dnstest.Start()
		if err != nil {
			return coreTarget{}, fmt.Errorf("quickstart: dns server: %w", err)
		}
		s.dns = dns
	}
	name := coreName(svc)
	s.dns.Set(name, ips...)
	return coreTarget{
		addr:     net.JoinHostPort(name, port),
		strategy: balancer.Headless{DNS: balancer.DNS{Server: s.dns.Addr(), RefreshInterval: mmfRefresh}},
		why: fmt.Sprintf("%s lists the core's %d %s replicas (A records in the loopback DNS server %s, looked up every %v), as Open-Match's headless Service does",
			name, len(addrs), svc, s.dns.Addr(), mmfRefresh),
	}, nil
}

// samePort returns the port addrs share and their hosts; ok is false when
// their ports differ or two share a host.
func samePort(addrs []string) (port string, hosts []string, ok bool) {
	seen := map[string]bool{}
	for _, a := range addrs {
		h, p, err := net.SplitHostPort(a)
		if err != nil || (port != "" && p != port) || seen[h] {
			return "", nil, false
		}
		port, seen[h] = p, true
		hosts = append(hosts, h)
	}
	return port, hosts, true
}

// startMMFConn makes the connection the core reaches the replicas with: the
// headless strategy over mmfName in the loopback DNS server, or, when the
// replicas could not share a port, the static strategy over their addresses.
func (s *services) startMMFConn(c config, rs *replicas, tel *telemetry) error {
	target := net.JoinHostPort(c.mmfHost, strconv.Itoa(rs.port))
	var strategy balancer.Strategy
	var why string
	if rs.sameIPs {
		dns, err := dnstest.Start()
		if err != nil {
			return fmt.Errorf("quickstart: dns server: %w", err)
		}
		s.dns = dns
		dns.Set(c.mmfHost, rs.ips()...)
		strategy = balancer.Headless{DNS: balancer.DNS{Server: dns.Addr(), RefreshInterval: mmfRefresh}}
		why = fmt.Sprintf("%s lists the %d replicas (A records in the loopback DNS server %s, looked up every %v), as a headless Service would",
			c.mmfHost, len(rs.list), dns.Addr(), mmfRefresh)
	} else {
		strategy = balancer.Static{Addrs: rs.addrs()}
		why = "the replicas are on three ports of one address, which DNS cannot list"
	}
	mmf, err := omclient.NewConn(target, append(tel.options(), omclient.WithStrategy(strategy))...)
	if err != nil {
		return fmt.Errorf("quickstart: %w", err)
	}
	s.mmf = conn{Conn: mmf, name: "core → mmf", why: why}
	return nil
}

// connectAll connects to the frontend, backend and query services with
// opts; without WithStrategy among them omclient's default Auto chain
// chooses.
func connectAll(s *services, fe, be, q string, opts []omclient.Option, why string) (*services, error) {
	for _, x := range []struct {
		c          *conn
		name, addr string
	}{{&s.fe, "frontend", fe}, {&s.be, "backend", be}, {&s.q, "query", q}} {
		cc, err := omclient.NewConn(x.addr, opts...)
		if err != nil {
			s.close()
			return nil, fmt.Errorf("quickstart: %s: %w", x.name, err)
		}
		*x.c = conn{Conn: cc, name: x.name, why: why}
	}
	return s, nil
}

// close closes every connection, then the core and the DNS server.
func (s *services) close() error {
	var errs []error
	for _, c := range []conn{s.fe, s.be, s.q, s.mmf} {
		if c.Conn != nil {
			errs = append(errs, c.Close())
		}
	}
	if s.core != nil {
		errs = append(errs, s.core.Close())
	}
	if s.dns != nil {
		s.dns.Close()
	}
	return errors.Join(errs...)
}
