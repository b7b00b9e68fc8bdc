package omclient_test

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/tlsfiles"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/certtest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// tlsHost is the service name the test certificates are issued for.
const tlsHost = "frontend.meshmatch.test"

// tlsServer is an omclient.Server with TLS on a loopback port that can be
// stopped and started again on the same address. Every start uses the same
// ServerOption, so the same credentials re-read the files.
type tlsServer struct {
	t    *testing.T
	addr string
	opt  omclient.ServerOption
	srv  *omclient.Server
	done chan error
}

func startTLSServer(t *testing.T, opt omclient.ServerOption) *tlsServer {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &tlsServer{t: t, addr: lis.Addr().String(), opt: opt}
	s.serve(lis)
	t.Cleanup(s.stop)
	return s
}

func (s *tlsServer) serve(lis net.Listener) {
	s.srv, s.done = omclient.NewEvaluatorServer(nil, s.opt), make(chan error, 1)
	go func() { s.done <- s.srv.Serve(lis) }()
}

// stop shuts the server down gracefully: clients get a GOAWAY, so they make
// new connections for later calls instead of losing them to a dead one.
func (s *tlsServer) stop() {
	if s.srv == nil {
		return
	}
	assert.NoError(s.t, s.srv.Shutdown(testContext(s.t)), "Shutdown()")
	assert.NoError(s.t, <-s.done, "Serve()")
	s.srv = nil
}

func (s *tlsServer) restart() {
	s.t.Helper()
	lis, err := net.Listen("tcp", s.addr)
	require.NoError(s.t, err, "listen again on %s", s.addr)
	s.serve(lis)
}

func (s *tlsServer) port() string {
	_, port, _ := net.SplitHostPort(s.addr)
	return port
}

// recordHandshakes returns server TLS from f whose failed handshakes are
// sent to the returned channel. A server that rejects a client certificate
// does so, in TLS 1.3, after the client's side of the handshake is done: the
// client sees the connection close, and only sometimes the alert that says
// why, so tests check the reason on the server side.
func recordHandshakes(f certtest.Files) (omclient.ServerOption, <-chan error) {
	errs := make(chan error, 16)
	creds := recordingCreds{TransportCredentials: tlsfiles.NewServer(tlsfiles.Files(tlsFiles(f))), errs: errs}
	return omclient.WithServerOptions(grpc.Creds(creds)), errs
}

type recordingCreds struct {
	credentials.TransportCredentials
	errs chan<- error
}

func (c recordingCreds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := c.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		select {
		case c.errs <- err:
		default:
		}
	}
	return conn, info, err
}

func tlsFiles(f certtest.Files) omclient.TLSFiles {
	return omclient.TLSFiles{CAFile: f.CAFile, CertFile: f.CertFile, KeyFile: f.KeyFile}
}

// pki is a server CA and a client CA with a certificate each, as files.
type pki struct {
	serverCA, clientCA *certtest.CA
	server             *certtest.Pair
	dir                string
	serverFiles        certtest.Files // client CA, server certificate and key
	clientFiles        certtest.Files // server CA, client certificate and key
}

func newPKI(t *testing.T) *pki {
	p := &pki{serverCA: certtest.NewCA(t), clientCA: certtest.NewCA(t), dir: t.TempDir()}
	p.server = p.serverCA.Issue(t, certtest.Leaf{DNSNames: []string{tlsHost}, IPs: []netip.Addr{netip.MustParseAddr("127.0.0.1")}})
	p.serverFiles = certtest.Write(t, p.dir, "server", p.clientCA, p.server)
	p.clientFiles = certtest.Write(t, p.dir, "client", p.serverCA, p.clientCA.Issue(t, certtest.Leaf{CommonName: "director"}))
	return p
}

// health makes one health check on conn, without waiting for a connection
// that is failing unless opts say so, and returns the server's TLS state.
func health(ctx context.Context, conn grpc.ClientConnInterface, opts ...grpc.CallOption) (*credentials.TLSInfo, error) {
	var p peer.Peer
	_, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{}, append(opts, grpc.Peer(&p))...)
	if err != nil {
		return nil, err
	}
	info, _ := p.AuthInfo.(credentials.TLSInfo)
	return &info, nil
}

func TestTLSCallSucceeds(t *testing.T) {
	for _, mutual := range []bool{false, true} {
		p := newPKI(t)
		serverFiles, clientFiles := p.serverFiles, p.clientFiles
		if !mutual {
			serverFiles.CAFile = ""
			clientFiles.CertFile, clientFiles.KeyFile = "", ""
		}
		srv := startTLSServer(t, omclient.WithServerTLS(tlsFiles(serverFiles)))
		dns := dnstest.NewServer(t)
		dns.Set(tlsHost, "127.0.0.1")
		tests := []struct {
			name     string
			addr     string
			strategy balancer.Strategy
		}{
			{name: "static", addr: net.JoinHostPort(tlsHost, srv.port()), strategy: balancer.Static{Addrs: []string{srv.addr}}},
			{name: "headless dns name", addr: net.JoinHostPort(tlsHost, srv.port()), strategy: balancer.Headless{DNS: balancer.DNS{Server: dns.Addr()}}},
			{name: "headless ip literal", addr: srv.addr, strategy: balancer.Headless{}},
		}
		for _, tc := range tests {
			name := tc.name + map[bool]string{false: " tls", true: " mtls"}[mutual]
			t.Run(name, func(t *testing.T) {
				conn, err := omclient.NewConn(tc.addr, omclient.WithStrategy(tc.strategy), omclient.WithTLS(tlsFiles(clientFiles)))
				require.NoError(t, err)
				defer conn.Close()
				info, err := health(testContext(t), conn, grpc.WaitForReady(true))
				require.NoError(t, err, "health check over TLS")
				require.NotEmpty(t, info.State.PeerCertificates, "no server certificate: the call was not over TLS")
				assert.True(t, info.State.PeerCertificates[0].Equal(p.server.Cert), "server certificate is not the one issued")
			})
		}
	}
}

// failedCall checks that err has code Unavailable and a message that
// mentions want.
func failedCall(t *testing.T, err error, want string) {
	t.Helper()
	require.Error(t, err, "call succeeded, want it to fail mentioning %q", want)
	assert.Equal(t, codes.Unavailable, status.Code(err), "code of %v", err)
	assert.Contains(t, err.Error(), want)
}

func TestTLSCallFails(t *testing.T) {
	p := newPKI(t)
	other := certtest.Write(t, p.dir, "other", certtest.NewCA(t), nil)
	expired := certtest.Write(t, p.dir, "expired", nil, p.serverCA.Issue(t, certtest.Leaf{DNSNames: []string{tlsHost}, NotAfter: time.Now().Add(-time.Hour)}))
	withCA := func(f certtest.Files, ca string) certtest.Files { f.CAFile = ca; return f }
	tests := []struct {
		name       string
		server     certtest.Files
		client     certtest.Files
		want       string // in the call's error
		wantServer string // in the server's handshake error
	}{
		{name: "wrong CA", server: p.serverFiles, client: withCA(p.clientFiles, other.CAFile), want: "x509: certificate signed by unknown authority"},
		{name: "expired server certificate", server: expired, client: p.clientFiles, want: "x509: certificate has expired"},
		{name: "no client certificate", server: p.serverFiles, client: certtest.Files{CAFile: p.clientFiles.CAFile}, wantServer: "client didn't provide a certificate"},
		{name: "client certificate from another CA", server: withCA(p.serverFiles, other.CAFile), client: p.clientFiles, wantServer: "x509: certificate signed by unknown authority"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			opt, handshakeErrs := recordHandshakes(tc.server)
			srv := startTLSServer(t, opt)
			conn := dial(t, net.JoinHostPort(tlsHost, srv.port()), omclient.WithStrategy(balancer.Static{Addrs: []string{srv.addr}}), omclient.WithTLS(tlsFiles(tc.client)))
			_, err := health(ctx, conn)
			failedCall(t, err, tc.want)
			if tc.wantServer == "" {
				return
			}
			select {
			case err := <-handshakeErrs:
				assert.Contains(t, err.Error(), tc.wantServer, "server handshake error")
			case <-ctx.Done():
				t.Fatalf("no failed server handshake: %v", ctx.Err())
			}
		})
	}
}

// TestTLSRotation replaces the CA and certificates on disk and checks that
// the same Conn and the same server credentials use the new files once the
// connection is made again, and that the old CA no longer works.
func TestTLSRotation(t *testing.T) {
	ctx := testContext(t)
	p := newPKI(t)
	srv := startTLSServer(t, omclient.WithServerTLS(tlsFiles(p.serverFiles)))
	addr := net.JoinHostPort(tlsHost, srv.port())
	conn := dial(t, addr, omclient.WithStrategy(balancer.Static{Addrs: []string{srv.addr}}), omclient.WithTLS(tlsFiles(p.clientFiles)))
	_, err := health(ctx, conn, grpc.WaitForReady(true))
	require.NoError(t, err, "health check before rotation")
	stale := certtest.Write(t, p.dir, "stale", p.serverCA, nil)

	newCA := certtest.NewCA(t)
	rotated := newCA.Issue(t, certtest.Leaf{DNSNames: []string{tlsHost}})
	certtest.Write(t, p.dir, "server", p.clientCA, rotated)
	certtest.Write(t, p.dir, "client", newCA, nil)
	_, err = health(ctx, conn)
	require.NoError(t, err, "health check on the connection made before rotation")

	srv.stop()
	srv.restart()
	info, err := health(ctx, conn, grpc.WaitForReady(true))
	require.NoError(t, err, "health check after rotation and reconnect")
	assert.True(t, info.State.PeerCertificates[0].Equal(rotated.Cert), "server certificate after rotation is not the rotated one")

	old := dial(t, addr, omclient.WithStrategy(balancer.Static{Addrs: []string{srv.addr}}), omclient.WithTLS(omclient.TLSFiles{CAFile: stale.CAFile, CertFile: p.clientFiles.CertFile, KeyFile: p.clientFiles.KeyFile}))
	_, err = health(ctx, old)
	failedCall(t, err, "x509: certificate signed by unknown authority")
}

// TestTLSBadFiles checks that bad files do not stop NewConn (it does no I/O)
// but fail the first handshake, and Check, with an error naming the file.
func TestTLSBadFiles(t *testing.T) {
	p := newPKI(t)
	srv := startTLSServer(t, omclient.WithServerTLS(tlsFiles(p.serverFiles)))
	garbage := p.dir + "/garbage.pem"
	certtest.WriteFile(t, garbage, []byte("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"))
	otherKey := certtest.Write(t, p.dir, "other", nil, p.clientCA.Issue(t, certtest.Leaf{})).KeyFile
	c := p.clientFiles
	tests := []struct {
		name  string
		files omclient.TLSFiles
		want  string
	}{
		{name: "missing CA file", files: omclient.TLSFiles{CAFile: p.dir + "/missing.pem"}, want: "omclient: tls: read CA file " + p.dir + "/missing.pem"},
		{name: "malformed CA PEM", files: omclient.TLSFiles{CAFile: garbage}, want: "omclient: tls: CA file " + garbage + ": no PEM certificates found"},
		{name: "missing key file", files: omclient.TLSFiles{CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: p.dir + "/missing.pem"}, want: "omclient: tls: read key file"},
		{name: "key not matching certificate", files: omclient.TLSFiles{CAFile: c.CAFile, CertFile: c.CertFile, KeyFile: otherKey}, want: "private key does not match public key"},
		{name: "certificate without key", files: omclient.TLSFiles{CAFile: c.CAFile, CertFile: c.CertFile}, want: "must be set together"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.files.Check()
			require.Error(t, err, "Check()")
			assert.Contains(t, err.Error(), tc.want, "Check()")
			conn := dial(t, net.JoinHostPort(tlsHost, srv.port()), omclient.WithStrategy(balancer.Static{Addrs: []string{srv.addr}}), omclient.WithTLS(tc.files))
			_, err = health(testContext(t), conn)
			failedCall(t, err, tc.want)
		})
	}
}

// TestTLSNeverPlaintext checks that NewConn refuses to combine WithTLS with a
// strategy or dial option that would send the calls in plaintext.
func TestTLSNeverPlaintext(t *testing.T) {
	f := omclient.WithTLS(omclient.TLSFiles{})
	tests := []struct {
		name string
		env  string
		opts []omclient.Option
	}{
		{name: "WithStrategy sidecar", opts: []omclient.Option{omclient.WithStrategy(balancer.Sidecar{}), f}},
		{name: "MESHMATCH_STRATEGY=sidecar", env: "sidecar", opts: []omclient.Option{f}},
		{name: "plaintext dial option after WithTLS", opts: []omclient.Option{omclient.WithStrategy(balancer.Static{Addrs: []string{"127.0.0.1:1"}}), f, omclient.WithDialOptions(grpc.WithTransportCredentials(insecure.NewCredentials()))}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.env != "" {
				t.Setenv("MESHMATCH_STRATEGY", tc.env)
			}
			conn, err := omclient.NewConn(tlsHost+":50504", tc.opts...)
			if err == nil {
				conn.Close()
				t.Fatal("NewConn() = nil error, want a refusal to go plaintext")
			}
			assert.Contains(t, err.Error(), "transport level security")
		})
	}
}

// TestTLSAutoSkipsSidecar checks that the Auto chain does not use a ready
// sidecar when WithTLS is set, logs why, and uses the next strategy over TLS.
func TestTLSAutoSkipsSidecar(t *testing.T) {
	ctx := testContext(t)
	p := newPKI(t)
	srv := startTLSServer(t, omclient.WithServerTLS(tlsFiles(p.serverFiles)))
	agent := istiotest.NewAgent(t)
	var logs syncBuffer
	auto := &balancer.Auto{
		Strategies: []balancer.Strategy{
			balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: agent.Addr()},
			balancer.Static{Addrs: []string{srv.addr}},
		},
		Logger: slog.New(slog.NewTextHandler(&logs, nil)),
	}
	conn := dial(t, net.JoinHostPort(tlsHost, srv.port()), omclient.WithStrategy(auto), omclient.WithTLS(tlsFiles(p.clientFiles)))
	info, err := health(ctx, conn, grpc.WaitForReady(true))
	require.NoError(t, err)
	assert.NotEmpty(t, info.State.PeerCertificates, "call was not over TLS")
	assert.Equal(t, "static", conn.Decision().Strategy, "Decision().Strategy")
	var dialFailed string
	for _, line := range strings.Split(logs.String(), "\n") {
		if strings.Contains(line, "dial failed") && strings.Contains(line, "strategy=sidecar") {
			dialFailed = line
		}
	}
	assert.Contains(t, dialFailed, "transport level security", "log of the sidecar's failed dial")
	if dets := conn.Decision().Detections; assert.Len(t, dets, 2) {
		assert.False(t, dets[0].Available, "Decision().Detections[0].Available")
		assert.Contains(t, dets[0].Reason, "dial failed", "Decision().Detections[0].Reason")
	}
}

// syncBuffer is a bytes.Buffer safe for concurrent use.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestTLSMatchFunctionServer serves a match function with mutual TLS and
// runs it from a client with WithTLS; a client without a certificate is
// refused.
func TestTLSMatchFunctionServer(t *testing.T) {
	ctx := testContext(t)
	p := newPKI(t)
	core := omtest.NewServer(t)
	coreConn := dial(t, core.Addr())
	fe := omclient.NewFrontend(coreConn)
	for range 2 {
		_, err := fe.CreateTicket(ctx, &pb.Ticket{})
		require.NoError(t, err)
	}
	mmf := omclient.NewMatchFunctionServer(omclient.NewQuery(coreConn), pairUp, omclient.WithServerTLS(tlsFiles(p.serverFiles)))
	host, port := serve(t, mmf)
	addr := net.JoinHostPort(host, strconv.Itoa(port))
	req := &pb.RunRequest{Profile: &pb.MatchProfile{Name: "duel", Pools: []*pb.Pool{{Name: "all"}}}}

	conn := dial(t, addr, omclient.WithTLS(tlsFiles(p.clientFiles)))
	stream, err := pb.NewMatchFunctionClient(conn).Run(ctx, req, grpc.WaitForReady(true))
	require.NoError(t, err)
	resp, err := stream.Recv()
	require.NoError(t, err, "Run over mutual TLS")
	assert.Len(t, resp.GetProposal().GetTickets(), 2)

	anon := dial(t, addr, omclient.WithTLS(omclient.TLSFiles{CAFile: p.clientFiles.CAFile}))
	_, err = health(ctx, anon)
	assert.Equal(t, codes.Unavailable, status.Code(err), "health check without a client certificate: %v", err)
}
