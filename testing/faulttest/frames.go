package faulttest

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"sync"
)

// HTTP/2 frame types and flags the FrameListener looks at (RFC 9113).
const (
	framePing   = 0x6
	frameGoAway = 0x7
	flagAck     = 0x1
)

// clientPreface starts every HTTP/2 connection, sent by the client.
const clientPreface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// GoAway is a GOAWAY frame a server sent.
type GoAway struct {
	// Code is the HTTP/2 error code (0 NO_ERROR, 0xb ENHANCE_YOUR_CALM).
	Code uint32
	// Debug is the frame's debug data, such as "too_many_pings".
	Debug string
}

// FrameListener wraps a server's net.Listener and parses the HTTP/2 frames
// of every connection it accepts, counting the PINGs clients send and
// recording the GOAWAYs the server sends. It changes no byte. Its methods are
// safe for concurrent use.
type FrameListener struct {
	net.Listener

	mu      sync.Mutex
	pings   int64
	goaways []GoAway
	changed chan struct{} // closed and replaced on every recorded frame
}

// WatchFrames returns lis wrapped in a FrameListener; serve on the result.
func WatchFrames(lis net.Listener) *FrameListener {
	return &FrameListener{Listener: lis, changed: make(chan struct{})}
}

// Accept accepts a connection and watches its frames.
func (l *FrameListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &frameConn{
		Conn: c,
		in:   frameParser{skip: len(clientPreface), on: l.fromClient},
		out:  frameParser{on: l.fromServer},
	}, nil
}

// ClientPings returns how many PING frames (not acknowledgements) clients
// have sent: keepalive pings and BDP-estimation pings.
func (l *FrameListener) ClientPings() int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.pings
}

// GoAways returns the GOAWAY frames the server has sent, in order.
func (l *FrameListener) GoAways() []GoAway {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]GoAway(nil), l.goaways...)
}

// WaitGoAways waits until the server has sent at least n GOAWAY frames, or
// ctx is done.
func (l *FrameListener) WaitGoAways(ctx context.Context, n int) error {
	for {
		l.mu.Lock()
		got, changed := len(l.goaways), l.changed
		l.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return fmt.Errorf("faulttest: %d GOAWAY frames, want %d: %w", got, n, ctx.Err())
		}
	}
}

func (l *FrameListener) fromClient(typ, flags byte, _ []byte) {
	if typ != framePing || flags&flagAck != 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.pings++
	l.notifyLocked()
}

func (l *FrameListener) fromServer(typ, _ byte, payload []byte) {
	if typ != frameGoAway || len(payload) < 8 {
		return
	}
	g := GoAway{Code: binary.BigEndian.Uint32(payload[4:8]), Debug: string(payload[8:])}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.goaways = append(l.goaways, g)
	l.notifyLocked()
}

func (l *FrameListener) notifyLocked() {
	close(l.changed)
	l.changed = make(chan struct{})
}

// frameConn feeds the bytes read from and written to a connection to one
// parser per direction.
type frameConn struct {
	net.Conn
	in, out frameParser
}

func (c *frameConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.in.feed(b[:n])
	return n, err
}

func (c *frameConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.out.feed(b[:n])
	return n, err
}

// frameParser splits one direction of an HTTP/2 connection into frames.
type frameParser struct {
	mu   sync.Mutex
	skip int // preface bytes still to skip
	buf  []byte
	on   func(typ, flags byte, payload []byte)
}

func (p *frameParser) feed(b []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.skip > 0 {
		k := min(p.skip, len(b))
		b, p.skip = b[k:], p.skip-k
	}
	p.buf = append(p.buf, b...)
	for len(p.buf) >= 9 {
		n := int(p.buf[0])<<16 | int(p.buf[1])<<8 | int(p.buf[2])
		if len(p.buf) < 9+n {
			return
		}
		p.on(p.buf[3], p.buf[4], p.buf[9:9+n])
		p.buf = append(p.buf[:0], p.buf[9+n:]...)
	}
}
