package tlsfiles

import (
	"context"
	"crypto/x509"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/credentials"

	"github.com/meshmatch/meshmatch/testing/certtest"
)

func x509VerifyOptions(roots *x509.CertPool) x509.VerifyOptions {
	return x509.VerifyOptions{Roots: roots, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
}

// handshake runs one TLS handshake between client and server over loopback
// TCP and returns both sides' errors and what the client learnt.
func handshake(t *testing.T, client, server credentials.TransportCredentials, authority string) (info credentials.AuthInfo, clientErr, serverErr error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	done := make(chan error, 1)
	go func() {
		raw, err := lis.Accept()
		if err != nil {
			done <- err
			return
		}
		_ = raw.SetDeadline(time.Now().Add(10 * time.Second))
		conn, _, err := server.ServerHandshake(raw)
		if err != nil {
			_ = raw.Close()
		} else {
			_ = conn.Close()
		}
		done <- err
	}()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", lis.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	conn, info, clientErr := client.ClientHandshake(ctx, authority, raw)
	if clientErr != nil {
		_ = raw.Close()
	}
	serverErr = <-done
	if conn != nil {
		_ = conn.Close()
	}
	return info, clientErr, serverErr
}

func toFiles(f certtest.Files) Files {
	return Files{CAFile: f.CAFile, CertFile: f.CertFile, KeyFile: f.KeyFile}
}

func TestTLSHandshakeMutual(t *testing.T) {
	dir := t.TempDir()
	serverCA, clientCA := certtest.NewCA(t), certtest.NewCA(t)
	srv := certtest.Write(t, dir, "server", clientCA, serverCA.Issue(t, certtest.Leaf{DNSNames: []string{"frontend.test"}}))
	cli := certtest.Write(t, dir, "client", serverCA, clientCA.Issue(t, certtest.Leaf{CommonName: "director"}))

	info, cerr, serr := handshake(t, NewClient(toFiles(cli)), NewServer(toFiles(srv)), "frontend.test:50504")
	if cerr != nil || serr != nil {
		t.Fatalf("handshake: client %v, server %v; want both nil", cerr, serr)
	}
	tlsInfo, ok := info.(credentials.TLSInfo)
	if !ok {
		t.Fatalf("AuthInfo = %T, want credentials.TLSInfo", info)
	}
	if got := tlsInfo.State.PeerCertificates[0].Subject.CommonName; got != "frontend.test" {
		t.Errorf("server certificate CN = %q, want %q", got, "frontend.test")
	}
	if got := tlsInfo.SecurityLevel; got != credentials.PrivacyAndIntegrity {
		t.Errorf("SecurityLevel = %v, want PrivacyAndIntegrity", got)
	}
}

func TestTLSHandshakeFailures(t *testing.T) {
	dir := t.TempDir()
	ca, other := certtest.NewCA(t), certtest.NewCA(t)
	srv := certtest.Write(t, dir, "server", ca, ca.Issue(t, certtest.Leaf{DNSNames: []string{"frontend.test"}}))
	expired := certtest.Write(t, dir, "expired", nil, ca.Issue(t, certtest.Leaf{DNSNames: []string{"frontend.test"}, NotAfter: time.Now().Add(-time.Hour)}))
	tests := []struct {
		name      string
		client    Files
		server    Files
		authority string
		want      string // in the client's or the server's error
	}{
		{name: "wrong CA", client: Files{CAFile: certtest.Write(t, dir, "other", other, nil).CAFile}, server: Files{CertFile: srv.CertFile, KeyFile: srv.KeyFile}, authority: "frontend.test:1", want: "certificate signed by unknown authority"},
		{name: "expired server certificate", client: Files{CAFile: srv.CAFile}, server: Files{CertFile: expired.CertFile, KeyFile: expired.KeyFile}, authority: "frontend.test:1", want: "expired"},
		{name: "wrong name", client: Files{CAFile: srv.CAFile}, server: Files{CertFile: srv.CertFile, KeyFile: srv.KeyFile}, authority: "backend.test:1", want: "not backend.test"},
		{name: "no client certificate", client: Files{CAFile: srv.CAFile}, server: toFiles(srv), authority: "frontend.test:1", want: "client didn't provide a certificate"},
		{name: "server without certificate", client: Files{CAFile: srv.CAFile}, server: Files{CAFile: srv.CAFile}, authority: "frontend.test:1", want: "server needs CertFile and KeyFile"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, cerr, serr := handshake(t, NewClient(tc.client), NewServer(tc.server), tc.authority)
			if !contains(cerr, tc.want) && !contains(serr, tc.want) {
				t.Errorf("handshake: client %v, server %v; want one to mention %q", cerr, serr, tc.want)
			}
		})
	}
}

func TestTLSHandshakeServerNameOverride(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t)
	srv := certtest.Write(t, dir, "server", nil, ca.Issue(t, certtest.Leaf{DNSNames: []string{"frontend.test"}}))
	cli := Files{CAFile: certtest.Write(t, dir, "client", ca, nil).CAFile, ServerName: "frontend.test"}
	_, cerr, serr := handshake(t, NewClient(cli), NewServer(toFiles(srv)), "127.0.0.1:50504")
	if cerr != nil || serr != nil {
		t.Errorf("handshake with ServerName: client %v, server %v; want both nil", cerr, serr)
	}
	cli.ServerName = ""
	if _, cerr, _ := handshake(t, NewClient(cli), NewServer(toFiles(srv)), "127.0.0.1:50504"); !contains(cerr, "doesn't contain any IP SANs") {
		t.Errorf("handshake without ServerName = %v, want a failure to verify 127.0.0.1", cerr)
	}
}

func TestTLSHandshakeAfterRotation(t *testing.T) {
	dir := t.TempDir()
	ca1 := certtest.NewCA(t)
	srvFiles := certtest.Write(t, dir, "server", nil, ca1.Issue(t, certtest.Leaf{}))
	cliFiles := certtest.Write(t, dir, "client", ca1, nil)
	client, server := NewClient(toFiles(cliFiles)), NewServer(toFiles(srvFiles))
	if _, cerr, serr := handshake(t, client, server, "localhost:1"); cerr != nil || serr != nil {
		t.Fatalf("handshake before rotation: client %v, server %v", cerr, serr)
	}

	ca2 := certtest.NewCA(t)
	p2 := ca2.Issue(t, certtest.Leaf{})
	certtest.Write(t, dir, "server", nil, p2)
	stale := NewClient(Files{CAFile: certtest.Write(t, dir, "stale", ca1, nil).CAFile})
	certtest.Write(t, dir, "client", ca2, nil)

	info, cerr, serr := handshake(t, client.Clone(), server, "localhost:1")
	if cerr != nil || serr != nil {
		t.Fatalf("handshake after rotation: client %v, server %v", cerr, serr)
	}
	if got := info.(credentials.TLSInfo).State.PeerCertificates[0]; !got.Equal(p2.Cert) {
		t.Errorf("server presented serial %v after rotation, want the rotated %v", got.SerialNumber, p2.Cert.SerialNumber)
	}
	if _, cerr, _ := handshake(t, stale, server, "localhost:1"); !contains(cerr, "certificate signed by unknown authority") {
		t.Errorf("handshake trusting the old CA = %v, want unknown authority", cerr)
	}
}

func contains(err error, s string) bool {
	return err != nil && strings.Contains(err.Error(), s)
}
