package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
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
	core      *omtest.Server  // nil with a real Open-Match
	dns       *dnstest.Server // nil with a real Open-Match
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
	target := s.mmf.Addr()
	core, err := omtest.Start(omtest.Config{
		MeterProvider:        tel.conns.mp,
		RegistrationInterval: registrationWindow,
		Dialer: func(t string) (grpc.ClientConnInterface, io.Closer, error) {
			if t != target {
				return nil, nil, fmt.Errorf("quickstart: the core dials only %s, not %s", target, t)
			}
			return s.mmf.Conn, s.mmf.Conn, nil
		},
	})
	if err != nil {
		s.close()
		return nil, err
	}
	s.core = core
	static := balancer.Static{Addrs: []string{core.Addr()}}
	why := "the embedded core listens on one known loopback address; there is nothing to discover"
	return connectAll(s, core.FrontendAddr(), core.BackendAddr(), core.QueryAddr(), append(tel.options(), omclient.WithStrategy(static)), why)
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
