package xds_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// SPIFFE ids of the test workloads.
const (
	serverID = "spiffe://cluster.local/ns/open-match/sa/open-match-frontend"
	clientID = "spiffe://cluster.local/ns/game/sa/frontend"
)

// tlsBackend is a gRPC server on loopback that requires a client
// certificate signed by its CA. GetTicket answers with the client's URI SAN,
// so tests see which identity the client presented.
func startTLSBackend(t *testing.T, cert testCert, clientCA *testCA) string {
	t.Helper()
	pool := x509.NewCertPool()
	pool.AddCert(clientCA.cert)
	creds := credentials.NewTLS(&tls.Config{
		Certificates: []tls.Certificate{cert.tlsCert(t)},
		ClientCAs:    pool,
		ClientAuth:   tls.RequireAndVerifyClientCert,
	})
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	gs := grpc.NewServer(grpc.Creds(creds))
	pb.RegisterFrontendServiceServer(gs, peerEcho{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-done
	})
	return lis.Addr().String()
}

type peerEcho struct {
	pb.UnimplementedFrontendServiceServer
}

func (peerEcho) GetTicket(ctx context.Context, _ *pb.GetTicketRequest) (*pb.Ticket, error) {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil, status.Error(codes.Internal, "no peer")
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.PeerCertificates) == 0 || len(info.State.PeerCertificates[0].URIs) == 0 {
		return nil, status.Error(codes.Unauthenticated, "no client certificate")
	}
	return &pb.Ticket{Id: info.State.PeerCertificates[0].URIs[0].String()}, nil
}

// mesh is a fake istiod serving svcAddr over TLS from one backend, with the
// CA that signed the backend's certificate.
type mesh struct {
	srv *xdstest.Server
	ca  *testCA
}

func newMesh(t *testing.T, tlsCfg *xdstest.TLS, serverExpired bool) mesh {
	t.Helper()
	ca := newCA(t, "mesh root")
	addr := startTLSBackend(t, ca.issue(t, leaf{spiffeID: serverID, ips: []net.IP{net.IPv4(127, 0, 0, 1)}, expired: serverExpired}), ca)
	srv := xdstest.NewServer(t)
	require.NoError(t, srv.SetTLS(svcHost, svcPort, tlsCfg))
	require.NoError(t, srv.SetEndpoints(svcHost, svcPort, addr))
	return mesh{srv: srv, ca: ca}
}

// strategies returns the two ways a proxyless client gets a file_watcher
// provider: a composed bootstrap with certDir as its CertDir, and a
// bootstrap file the Istio agent would write naming the same files.
func strategies(t *testing.T, srv *xdstest.Server, certDir string) map[string]xds.Strategy {
	files := xdstest.CertFiles{
		CertFile: filepath.Join(certDir, xdsbootstrap.CertFile),
		KeyFile:  filepath.Join(certDir, xdsbootstrap.KeyFile),
		CAFile:   filepath.Join(certDir, xdsbootstrap.CAFile),
	}
	return map[string]xds.Strategy{
		"composed":               {IstiodAddr: srv.Addr(), Env: envOf(podEnv), CertDir: certDir},
		"bootstrap file_watcher": {Bootstrap: srv.BootstrapWithCerts(xdstest.DefaultNodeID, files), Env: envOf(nil)},
	}
}

func TestDialMutualTLS(t *testing.T) {
	for _, tc := range []struct {
		name string
		tls  *xdstest.TLS
	}{
		{name: "chain only", tls: &xdstest.TLS{}},
		{name: "server SAN matched", tls: &xdstest.TLS{SANs: []string{"spiffe://cluster.local/ns/other/sa/x", serverID}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMesh(t, tc.tls, false)
			dir := writeCertDir(t, m.ca.issue(t, leaf{spiffeID: clientID}), m.ca.pem)
			for name, s := range strategies(t, m.srv, dir) {
				t.Run(name, func(t *testing.T) {
					ctx := testContext(t)
					got, err := getTicket(ctx, dial(t, s), grpc.WaitForReady(true))
					require.NoError(t, err, "GetTicket over mTLS")
					assert.Equal(t, clientID, got, "client identity seen by the server")
				})
			}
		})
	}
}

func TestDialTLSFailures(t *testing.T) {
	tests := []struct {
		name          string
		tls           *xdstest.TLS
		serverExpired bool
		// client returns the client's certificate directory.
		client  func(t *testing.T, ca *testCA) string
		wantErr string
	}{
		{
			name: "wrong CA",
			tls:  &xdstest.TLS{},
			client: func(t *testing.T, ca *testCA) string {
				return writeCertDir(t, ca.issue(t, leaf{spiffeID: clientID}), newCA(t, "other root").pem)
			},
			wantErr: "certificate signed by unknown authority",
		},
		{
			name:          "expired server certificate",
			tls:           &xdstest.TLS{},
			serverExpired: true,
			client: func(t *testing.T, ca *testCA) string {
				return writeCertDir(t, ca.issue(t, leaf{spiffeID: clientID}), ca.pem)
			},
			wantErr: "certificate has expired",
		},
		{
			name: "expired client certificate",
			tls:  &xdstest.TLS{},
			client: func(t *testing.T, ca *testCA) string {
				return writeCertDir(t, ca.issue(t, leaf{spiffeID: clientID, expired: true}), ca.pem)
			},
			wantErr: "tls: expired certificate",
		},
		{
			name: "no client certificate where mTLS is required",
			tls:  &xdstest.TLS{ServerOnly: true},
			client: func(t *testing.T, ca *testCA) string {
				return writeCertDir(t, ca.issue(t, leaf{spiffeID: clientID}), ca.pem)
			},
			wantErr: "tls: certificate required",
		},
		{
			name: "server SAN not accepted",
			tls:  &xdstest.TLS{SANs: []string{"spiffe://cluster.local/ns/other/sa/x"}},
			client: func(t *testing.T, ca *testCA) string {
				return writeCertDir(t, ca.issue(t, leaf{spiffeID: clientID}), ca.pem)
			},
			wantErr: "do not match any of the accepted SANs",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := newMesh(t, tc.tls, tc.serverExpired)
			dir := tc.client(t, m.ca)
			for name, s := range strategies(t, m.srv, dir) {
				t.Run(name, func(t *testing.T) {
					err := firstFailure(t, dial(t, s), tc.wantErr)
					t.Logf("GetTicket() = %v", err)
					assert.Equal(t, codes.Unavailable, status.Code(err), "GetTicket() = %v, want code Unavailable", err)
				})
			}
		})
	}
}

// firstFailure calls until a call fails with an error that contains want,
// and returns that error. A call that succeeds, or no such error by the test
// deadline, fails t.
func firstFailure(t *testing.T, conn grpc.ClientConnInterface, want string) error {
	t.Helper()
	ctx := testContext(t)
	for {
		_, err := getTicket(ctx, conn)
		require.Error(t, err, "GetTicket succeeded, want an error containing %q", want)
		if strings.Contains(err.Error(), want) {
			return err
		}
		if ctx.Err() != nil {
			t.Fatalf("GetTicket() = %v, want an error containing %q", err, want)
		}
	}
}

// TestDialPlaintextClusterWithCerts: with a certificate provider in the
// bootstrap, a cluster istiod sends without TLS is still reached over
// plaintext (the credentials' insecure fallback), next to a TLS one.
func TestDialPlaintextClusterWithCerts(t *testing.T) {
	const plainHost, plainPort = "open-match-query.open-match.svc.cluster.local", 50503
	m := newMesh(t, &xdstest.TLS{}, false)
	bs := balancertest.StartBackends(t, 2)
	require.NoError(t, m.srv.SetEndpoints(plainHost, plainPort, bs[0].Addr, bs[1].Addr))
	dir := writeCertDir(t, m.ca.issue(t, leaf{spiffeID: clientID}), m.ca.pem)
	for name, s := range strategies(t, m.srv, dir) {
		t.Run(name, func(t *testing.T) {
			ctx := testContext(t)
			got, err := getTicket(ctx, dial(t, s), grpc.WaitForReady(true))
			require.NoError(t, err, "GetTicket over mTLS")
			assert.Equal(t, clientID, got)
			plain, err := s.Dial(net.JoinHostPort(plainHost, strconv.Itoa(plainPort)))
			require.NoError(t, err)
			t.Cleanup(func() { plain.Close() })
			waitAll(t, ctx, plain, bs)
		})
	}
}
