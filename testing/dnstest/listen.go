package dnstest

import (
	"fmt"
	"net"
	"net/netip"
	"sync"

	"github.com/miekg/dns"
)

// running is one pair of UDP and TCP servers on one address.
type running struct {
	addr     string
	udp, tcp *dns.Server
	wg       sync.WaitGroup
}

// listen binds UDP and TCP on addr (on a port free for both when addr has
// port 0) and serves s on them.
func listen(addr string, s *Server) (*running, error) {
	var lastErr error
	for range 10 {
		tl, err := net.Listen("tcp", addr)
		if err != nil {
			return nil, fmt.Errorf("dnstest: listen tcp %s: %w", addr, err)
		}
		pc, err := net.ListenPacket("udp", tl.Addr().String())
		if err == nil {
			return serve(tl, pc, s), nil
		}
		tl.Close()
		lastErr = err
		if !freePort(addr) {
			break
		}
	}
	return nil, fmt.Errorf("dnstest: listen udp %s: %w", addr, lastErr)
}

func serve(tl net.Listener, pc net.PacketConn, s *Server) *running {
	h := dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) { s.answer(w, r) })
	r := &running{
		addr: tl.Addr().String(),
		udp:  &dns.Server{PacketConn: pc, Handler: h},
		tcp:  &dns.Server{Listener: tl, Handler: h},
	}
	for _, srv := range []*dns.Server{r.udp, r.tcp} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			_ = srv.ActivateAndServe()
		}()
		<-started
	}
	return r
}

func (r *running) stop() {
	_ = r.udp.Shutdown()
	_ = r.tcp.Shutdown()
	r.wg.Wait()
}

// answer builds the reply to one query.
func (s *Server) answer(w dns.ResponseWriter, req *dns.Msg) {
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	if len(req.Question) == 1 {
		q := req.Question[0]
		ips, known, mode, ttl := s.lookup(q.Name)
		switch {
		case mode == ServFail:
			m.Rcode = dns.RcodeServerFailure
		case mode == Empty:
		case !known:
			m.Rcode = dns.RcodeNameError
		default:
			m.Answer = records(q, ips, ttl)
		}
	} else {
		m.Rcode = dns.RcodeFormatError
	}
	_ = w.WriteMsg(m)
}

func records(q dns.Question, ips []netip.Addr, ttl uint32) []dns.RR {
	var rrs []dns.RR
	hdr := func(t uint16) dns.RR_Header {
		return dns.RR_Header{Name: q.Name, Rrtype: t, Class: dns.ClassINET, Ttl: ttl}
	}
	for _, ip := range ips {
		switch {
		case q.Qtype == dns.TypeA && ip.Is4():
			rrs = append(rrs, &dns.A{Hdr: hdr(dns.TypeA), A: net.IP(ip.AsSlice())})
		case q.Qtype == dns.TypeAAAA && ip.Is6():
			rrs = append(rrs, &dns.AAAA{Hdr: hdr(dns.TypeAAAA), AAAA: net.IP(ip.AsSlice())})
		}
	}
	return rrs
}
