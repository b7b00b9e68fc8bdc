package faulttest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/internal/counter"
)

// Mode says what a Proxy does with the bytes of its connections.
type Mode int

const (
	// Forward copies bytes both ways between clients and the target.
	Forward Mode = iota
	// Blackhole accepts connections but passes nothing on, in either
	// direction, like a hung process or a network partition: TCP connects,
	// nothing is ever answered. Bytes already read are held, not dropped, and
	// flow again after SetMode(Forward). Connections accepted in this mode
	// dial the target only once forwarding resumes.
	Blackhole
)

func (m Mode) String() string {
	switch m {
	case Forward:
		return "forward"
	case Blackhole:
		return "blackhole"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Proxy is a TCP proxy on a loopback address standing in for one pod: it
// forwards to a target (typically a real gRPC server) and can be killed
// (Stop), brought back on the same address (Restart), have its connections
// cut (Cut) or stop answering (SetMode(Blackhole)). It connects to the
// target from its own IP, so the target sees which pod a connection came
// through. Its methods are safe for concurrent use.
type Proxy struct {
	addr   string
	target string

	mu       sync.Mutex
	lis      net.Listener // nil while stopped
	links    map[*link]struct{}
	mode     Mode
	resume   chan struct{} // closed and replaced on every mode change
	accepted counter.Counter
	closed   bool
	wg       sync.WaitGroup
}

// link is one proxied client connection.
type link struct {
	client net.Conn
	done   chan struct{}
	once   sync.Once

	mu       sync.Mutex
	upstream net.Conn
}

func (l *link) close() {
	l.once.Do(func() {
		close(l.done)
		l.client.Close()
		l.mu.Lock()
		if l.upstream != nil {
			l.upstream.Close()
		}
		l.mu.Unlock()
	})
}

// StartProxy serves on lis, forwarding every connection to target
// ("host:port"). An empty target makes a silent server: the proxy stays in
// Blackhole mode. The caller must Close the proxy.
func StartProxy(lis net.Listener, target string) *Proxy {
	p := &Proxy{
		addr:   lis.Addr().String(),
		target: target,
		links:  map[*link]struct{}{},
		resume: make(chan struct{}),
	}
	if target == "" {
		p.mode = Blackhole
	}
	p.serve(lis)
	return p
}

// NewProxy is StartProxy on a new listener at addr ("127.0.0.1:0" when empty)
// that closes the proxy when the test ends.
func NewProxy(t testing.TB, addr, target string) *Proxy {
	t.Helper()
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("faulttest: listen on %s: %v", addr, err)
	}
	p := StartProxy(lis, target)
	t.Cleanup(p.Close)
	return p
}

// NewSilent starts a server on 127.0.0.1 that accepts TCP connections and
// never sends a byte, and closes it when the test ends.
func NewSilent(t testing.TB) *Proxy { return NewProxy(t, "", "") }

// NewProxies starts n proxies to target on 127.0.0.1 … 127.0.0.n, all on one
// port (see ListenLoopback), closed when the test ends.
func NewProxies(t testing.TB, n int, target string) []*Proxy {
	t.Helper()
	lis, err := ListenLoopback(n)
	if err != nil {
		t.Fatal(err)
	}
	ps := make([]*Proxy, n)
	for i, l := range lis {
		ps[i] = StartProxy(l, target)
		t.Cleanup(ps[i].Close)
	}
	return ps
}

// Addr returns the proxy's "ip:port"; it stays the same across Stop and
// Restart.
func (p *Proxy) Addr() string { return p.addr }

// SetMode changes what the proxy does, for new and existing connections.
func (p *Proxy) SetMode(m Mode) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.target == "" {
		return
	}
	p.mode = m
	close(p.resume)
	p.resume = make(chan struct{})
}

// Accepted returns how many connections the proxy has accepted in all.
func (p *Proxy) Accepted() int64 { return p.accepted.Load() }

// WaitAccepted waits until the proxy has accepted at least n connections in
// all, or ctx is done.
func (p *Proxy) WaitAccepted(ctx context.Context, n int64) error {
	if got, err := p.accepted.Wait(ctx, n); err != nil {
		return fmt.Errorf("faulttest: %s accepted %d connections, want %d: %w", p.addr, got, n, err)
	}
	return nil
}

// Cut closes every open connection, in both directions, and keeps listening.
func (p *Proxy) Cut() {
	p.mu.Lock()
	links := make([]*link, 0, len(p.links))
	for l := range p.links {
		links = append(links, l)
	}
	p.mu.Unlock()
	for _, l := range links {
		l.close()
	}
}

// Stop kills the pod: the listener closes, so new connections are refused,
// and every open connection is closed. It is idempotent.
func (p *Proxy) Stop() {
	p.mu.Lock()
	lis := p.lis
	p.lis = nil
	p.mu.Unlock()
	if lis != nil {
		lis.Close()
	}
	p.Cut()
	p.wg.Wait()
}

// Restart serves again on the same address after Stop.
func (p *Proxy) Restart() error {
	p.mu.Lock()
	running, closed := p.lis != nil, p.closed
	p.mu.Unlock()
	if closed {
		return fmt.Errorf("faulttest: restart %s: proxy closed", p.addr)
	}
	if running {
		return nil
	}
	lis, err := net.Listen("tcp", p.addr)
	if err != nil {
		return fmt.Errorf("faulttest: restart %s: %w", p.addr, err)
	}
	p.serve(lis)
	return nil
}

// Close stops the proxy for good and waits for its goroutines. It is
// idempotent.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.Stop()
}

func (p *Proxy) serve(lis net.Listener) {
	p.mu.Lock()
	p.lis = lis
	p.mu.Unlock()
	p.wg.Add(1)
	go p.accept(lis)
}

func (p *Proxy) accept(lis net.Listener) {
	defer p.wg.Done()
	for {
		c, err := lis.Accept()
		if err != nil {
			return
		}
		l := &link{client: c, done: make(chan struct{})}
		p.mu.Lock()
		if p.lis != lis {
			p.mu.Unlock()
			c.Close()
			return
		}
		p.links[l] = struct{}{}
		p.accepted.Add()
		p.wg.Add(1)
		p.mu.Unlock()
		go p.run(l)
	}
}

// run connects l to the target once forwarding is allowed and copies bytes
// both ways until either side closes.
func (p *Proxy) run(l *link) {
	defer p.wg.Done()
	defer func() {
		l.close()
		p.mu.Lock()
		delete(p.links, l)
		p.mu.Unlock()
	}()
	if !p.forwarding(l) {
		return
	}
	up, err := p.dialTarget()
	if err != nil {
		return
	}
	l.mu.Lock()
	l.upstream = up
	l.mu.Unlock()
	select {
	case <-l.done: // cut while dialing
		up.Close()
		return
	default:
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.copy(l, up, l.client)
	}()
	p.copy(l, l.client, up)
}

// dialTarget connects to the target from the proxy's own IP when it can, so
// that the target sees which pod a connection came through
// (peer.FromContext on a gRPC server).
func (p *Proxy) dialTarget() (net.Conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	if host, _, err := net.SplitHostPort(p.addr); err == nil {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(host)}
		if c, err := d.Dial("tcp", p.target); err == nil {
			return c, nil
		}
		d.LocalAddr = nil
	}
	return d.Dial("tcp", p.target)
}

// copy moves bytes from src to dst, holding them while the proxy is in
// Blackhole mode, until either side fails; then it closes the link.
func (p *Proxy) copy(l *link, dst, src net.Conn) {
	defer l.close()
	buf := make([]byte, 32<<10)
	for {
		if !p.forwarding(l) {
			return
		}
		n, err := src.Read(buf)
		if n > 0 {
			if !p.forwarding(l) {
				return
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

// forwarding waits until the proxy forwards; it returns false if l closes
// first.
func (p *Proxy) forwarding(l *link) bool {
	for {
		p.mu.Lock()
		mode, resume := p.mode, p.resume
		p.mu.Unlock()
		if mode == Forward {
			return true
		}
		select {
		case <-resume:
		case <-l.done:
			return false
		}
	}
}
