package certtest_test

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/certtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func verify(ca *certtest.CA, p *certtest.Pair, name string) error {
	_, err := p.Cert.Verify(x509.VerifyOptions{
		DNSName:   name,
		Roots:     ca.Pool(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	})
	return err
}

func TestTLSLeafVerifiesAgainstItsCA(t *testing.T) {
	ca := certtest.NewCA(t)
	tests := []struct {
		name string
		leaf certtest.Leaf
		host string
	}{
		{name: "default localhost", leaf: certtest.Leaf{}, host: "localhost"},
		{name: "default ipv4", leaf: certtest.Leaf{}, host: "127.0.0.1"},
		{name: "default ipv6", leaf: certtest.Leaf{}, host: "::1"},
		{name: "dns name", leaf: certtest.Leaf{DNSNames: []string{"frontend.test"}}, host: "frontend.test"},
		{name: "ip", leaf: certtest.Leaf{IPs: []netip.Addr{netip.MustParseAddr("127.0.0.2")}}, host: "127.0.0.2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := verify(ca, ca.Issue(t, tc.leaf), tc.host); err != nil {
				t.Errorf("Verify(%q) = %v, want nil", tc.host, err)
			}
		})
	}
}

func TestTLSLeafFailsVerification(t *testing.T) {
	ca, other := certtest.NewCA(t), certtest.NewCA(t)
	expired := ca.Issue(t, certtest.Leaf{NotAfter: time.Now().Add(-time.Hour)})
	var invalid x509.CertificateInvalidError
	if err := verify(ca, expired, "localhost"); !errors.As(err, &invalid) || invalid.Reason != x509.Expired {
		t.Errorf("Verify(expired) = %v, want an Expired CertificateInvalidError", err)
	}
	var unknown x509.UnknownAuthorityError
	if err := verify(other, ca.Issue(t, certtest.Leaf{}), "localhost"); !errors.As(err, &unknown) {
		t.Errorf("Verify(other CA) = %v, want an UnknownAuthorityError", err)
	}
	var host x509.HostnameError
	if err := verify(ca, ca.Issue(t, certtest.Leaf{DNSNames: []string{"a.test"}}), "b.test"); !errors.As(err, &host) {
		t.Errorf("Verify(wrong name) = %v, want a HostnameError", err)
	}
}

func TestTLSWriteAndRotate(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t)
	p1 := ca.Issue(t, certtest.Leaf{})
	first := certtest.Write(t, dir, "server", ca, p1)
	loaded, err := tls.LoadX509KeyPair(first.CertFile, first.KeyFile)
	if err != nil {
		t.Fatalf("LoadX509KeyPair() = %v", err)
	}
	if !loaded.Leaf.Equal(p1.TLSCertificate(t).Leaf) {
		t.Errorf("written certificate differs from TLSCertificate()")
	}
	ca2 := certtest.NewCA(t)
	p2 := ca2.Issue(t, certtest.Leaf{})
	second := certtest.Write(t, dir, "server", ca2, p2)
	if second != first {
		t.Errorf("Write() again = %+v, want the same paths %+v", second, first)
	}
	for path, want := range map[string][]byte{second.CAFile: ca2.CertPEM, second.CertFile: p2.CertPEM, second.KeyFile: p2.KeyPEM} {
		if got, err := os.ReadFile(path); err != nil || string(got) != string(want) {
			t.Errorf("ReadFile(%s) = %d bytes, %v; want the rotated content", path, len(got), err)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".certtest-*")); len(left) != 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}

func TestTLSWriteLeavesOutNil(t *testing.T) {
	dir := t.TempDir()
	f := certtest.Write(t, dir, "client", certtest.NewCA(t), nil)
	if f.CertFile != "" || f.KeyFile != "" || f.CAFile == "" {
		t.Errorf("Write(ca, nil) = %+v, want only CAFile", f)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 1 {
		t.Errorf("ReadDir() = %d entries, %v; want only the CA file", len(entries), err)
	}
}
