package xds_test

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/http2"

	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// refuser is an HTTP/2 server on loopback that completes the connection
// preface and refuses every stream with RST_STREAM(REFUSED_STREAM), as a
// server does that will not take a new stream: the request never reached a
// handler, which gRPC may retry transparently.
type refuser struct {
	lis     net.Listener
	refused atomic.Int64
	wg      sync.WaitGroup

	mu    sync.Mutex
	conns []net.Conn
}

func startRefuser(t *testing.T) *refuser {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	r := &refuser{lis: lis}
	r.wg.Add(1)
	go r.accept()
	t.Cleanup(r.close)
	return r
}

func (r *refuser) accept() {
	defer r.wg.Done()
	for {
		c, err := r.lis.Accept()
		if err != nil {
			return
		}
		r.mu.Lock()
		r.conns = append(r.conns, c)
		r.mu.Unlock()
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.serve(c)
		}()
	}
}

// close closes the listener and every connection and waits for the
// goroutines.
func (r *refuser) close() {
	r.lis.Close()
	r.mu.Lock()
	for _, c := range r.conns {
		c.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// serve answers one connection until the client or close ends it.
func (r *refuser) serve(c net.Conn) {
	defer c.Close()
	if _, err := io.ReadFull(c, make([]byte, len(http2.ClientPreface))); err != nil {
		return
	}
	fr := http2.NewFramer(c, c)
	if fr.WriteSettings() != nil {
		return
	}
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return
		}
		if err := r.answer(fr, f); err != nil {
			return
		}
	}
}

func (r *refuser) answer(fr *http2.Framer, f http2.Frame) error {
	switch f := f.(type) {
	case *http2.SettingsFrame:
		if !f.IsAck() {
			return fr.WriteSettingsAck()
		}
	case *http2.PingFrame:
		if !f.IsAck() {
			return fr.WritePing(true, f.Data)
		}
	case *http2.HeadersFrame:
		r.refused.Add(1)
		return fr.WriteRSTStream(f.StreamID, http2.ErrCodeRefusedStream)
	}
	return nil
}

// TestTransparentRetryKept: with grpc-go's configured retries off, a call
// that a server refused before any handler saw it (REFUSED_STREAM) is still
// retried transparently on the other backend, so turning retries off costs
// no call that was never processed.
func TestTransparentRetryKept(t *testing.T) {
	ctx := testContext(t)
	ref := startRefuser(t)
	bs := balancertest.StartBackends(t, 1)
	srv := xdstest.NewServer(t)
	setEndpoints(srv)(t, bs)
	conn := dial(t, xds.Strategy{Bootstrap: srv.Bootstrap("transparent"), Env: envOf(nil)})
	waitAll(t, ctx, conn, bs)
	// grpc-go retries a refused stream transparently once, on the next pick:
	// with the real backend READY, round robin picks it.
	require.NoError(t, srv.SetEndpoints(svcHost, svcPort, bs[0].Addr, ref.lis.Addr().String()))
	for i := 0; ref.refused.Load() == 0; i++ {
		_, err := getTicket(ctx, conn)
		require.NoError(t, err, "call %d (refused so far: %d)", i, ref.refused.Load())
	}
	assert.Positive(t, bs[0].Calls(), "calls served by the real backend")
	t.Logf("streams refused and retried transparently: %d; calls served: %d", ref.refused.Load(), bs[0].Calls())
}
