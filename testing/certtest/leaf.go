package certtest

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"net"
	"net/netip"
	"testing"
	"time"
)

// Leaf describes a certificate to issue. The zero value is a certificate for
// "localhost", 127.0.0.1 and ::1, valid from an hour ago for a day, usable by
// servers and clients alike.
type Leaf struct {
	// CommonName is the subject's common name. Empty means the first DNS
	// name, else "certtest".
	CommonName string
	// DNSNames and IPs are the subject alternative names, which clients check
	// the server name against. Both empty means "localhost", 127.0.0.1 and
	// ::1.
	DNSNames []string
	IPs      []netip.Addr
	// NotBefore and NotAfter bound the validity. A zero NotAfter means a day
	// from now; a zero NotBefore means a day before NotAfter, or an hour ago
	// when NotAfter is zero too. A NotAfter in the past makes an expired
	// certificate.
	NotBefore, NotAfter time.Time
}

// Pair is an issued certificate with its private key.
type Pair struct {
	// Cert is the parsed certificate.
	Cert *x509.Certificate
	// CertPEM and KeyPEM are the certificate and its PKCS #8 private key in
	// PEM form.
	CertPEM, KeyPEM []byte
}

// Issue signs a new certificate described by l with ca's key.
func (ca *CA) Issue(t testing.TB, l Leaf) *Pair {
	t.Helper()
	key := newKey(t)
	tmpl := l.template()
	tmpl.SerialNumber = serial(t)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("certtest: issue certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("certtest: parse certificate: %v", err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("certtest: marshal key: %v", err)
	}
	keyPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
	return &Pair{Cert: cert, CertPEM: certPEM(der), KeyPEM: keyPEM}
}

// TLSCertificate returns p for use in a tls.Config.
func (p *Pair) TLSCertificate(t testing.TB) tls.Certificate {
	t.Helper()
	c, err := tls.X509KeyPair(p.CertPEM, p.KeyPEM)
	if err != nil {
		t.Fatalf("certtest: key pair: %v", err)
	}
	return c
}

func (l Leaf) template() *x509.Certificate {
	dns, ips := l.DNSNames, make([]net.IP, 0, len(l.IPs))
	for _, ip := range l.IPs {
		ips = append(ips, net.IP(ip.AsSlice()))
	}
	if len(dns) == 0 && len(ips) == 0 {
		dns, ips = []string{"localhost"}, []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}
	}
	cn := l.CommonName
	if cn == "" && len(dns) > 0 {
		cn = dns[0]
	}
	if cn == "" {
		cn = "certtest"
	}
	notBefore, notAfter := l.validity()
	return &x509.Certificate{
		Subject:     pkix.Name{CommonName: cn, Organization: []string{"meshmatch certtest"}},
		DNSNames:    dns,
		IPAddresses: ips,
		NotBefore:   notBefore,
		NotAfter:    notAfter,
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
}

func (l Leaf) validity() (notBefore, notAfter time.Time) {
	notBefore, notAfter = l.NotBefore, l.NotAfter
	switch {
	case notAfter.IsZero() && notBefore.IsZero():
		notBefore = time.Now().Add(-time.Hour)
		notAfter = notBefore.Add(25 * time.Hour)
	case notAfter.IsZero():
		notAfter = notBefore.Add(24 * time.Hour)
	case notBefore.IsZero():
		notBefore = notAfter.Add(-24 * time.Hour)
	}
	return notBefore, notAfter
}
