package tlsfiles

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/testing/certtest"
)

func TestTLSCheckBadFiles(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t)
	good := certtest.Write(t, dir, "good", ca, ca.Issue(t, certtest.Leaf{}))
	other := certtest.Write(t, dir, "other", nil, ca.Issue(t, certtest.Leaf{}))
	garbage := filepath.Join(dir, "garbage.pem")
	certtest.WriteFile(t, garbage, []byte("not PEM at all\n"))
	broken := filepath.Join(dir, "broken.pem")
	certtest.WriteFile(t, broken, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	missing := filepath.Join(dir, "missing.pem")
	tests := []struct {
		name  string
		files Files
		want  []string // substrings of the error; none means no error
	}{
		{name: "zero value", files: Files{}},
		{name: "good", files: Files{CAFile: good.CAFile, CertFile: good.CertFile, KeyFile: good.KeyFile}},
		{name: "missing CA file", files: Files{CAFile: missing}, want: []string{"read CA file " + missing, "no such file"}},
		{name: "CA file without PEM", files: Files{CAFile: garbage}, want: []string{"CA file " + garbage, "no PEM certificates"}},
		{name: "CA file with a broken certificate", files: Files{CAFile: broken}, want: []string{"CA file " + broken, "certificate 1", "x509"}},
		{name: "missing certificate file", files: Files{CertFile: missing, KeyFile: good.KeyFile}, want: []string{"read certificate file " + missing}},
		{name: "missing key file", files: Files{CertFile: good.CertFile, KeyFile: missing}, want: []string{"read key file " + missing}},
		{name: "certificate file without PEM", files: Files{CertFile: garbage, KeyFile: good.KeyFile}, want: []string{"key pair " + garbage, "PEM"}},
		{name: "key of another certificate", files: Files{CertFile: good.CertFile, KeyFile: other.KeyFile}, want: []string{"key pair", "private key does not match public key"}},
		{name: "certificate without key", files: Files{CertFile: good.CertFile}, want: []string{"must be set together"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.files.Check()
			if len(tc.want) == 0 {
				if err != nil {
					t.Errorf("Check() = %v, want nil", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Check() = nil, want an error mentioning %q", tc.want)
			}
			for _, w := range append([]string{"omclient: tls: "}, tc.want...) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Check() = %q, want it to mention %q", err, w)
				}
			}
		})
	}
}

// TestTLSLoaderParsesOnlyOnChange checks that unchanged files give the very
// same parsed values and changed files new ones.
func TestTLSLoaderParsesOnlyOnChange(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t)
	f := certtest.Write(t, dir, "side", ca, ca.Issue(t, certtest.Leaf{}))
	l := newLoader(Files{CAFile: f.CAFile, CertFile: f.CertFile, KeyFile: f.KeyFile})
	pool1, pair1, err := l.load()
	if err != nil {
		t.Fatal(err)
	}
	pool2, pair2, err := l.load()
	if err != nil {
		t.Fatal(err)
	}
	if pool1 != pool2 || pair1 != pair2 {
		t.Errorf("load() twice on unchanged files parsed again")
	}
	ca2 := certtest.NewCA(t)
	p2 := ca2.Issue(t, certtest.Leaf{})
	certtest.Write(t, dir, "side", ca2, p2)
	pool3, pair3, err := l.load()
	if err != nil {
		t.Fatal(err)
	}
	if pool3 == pool1 || pair3 == pair1 {
		t.Fatalf("load() after rotation returned the old values")
	}
	if !pair3.Leaf.Equal(p2.Cert) {
		t.Errorf("load() after rotation = certificate %v, want %v", pair3.Leaf.Subject, p2.Cert.Subject)
	}
	if _, err := p2.Cert.Verify(x509VerifyOptions(pool3)); err != nil {
		t.Errorf("rotated pool does not verify the rotated certificate: %v", err)
	}
}

// TestTLSLoaderKeepsFailingUntilFixed checks that a bad file is an error
// for as long as it is bad, and that fixing it is picked up.
func TestTLSLoaderKeepsFailingUntilFixed(t *testing.T) {
	dir := t.TempDir()
	ca := certtest.NewCA(t)
	f := certtest.Write(t, dir, "side", ca, nil)
	l := newLoader(Files{CAFile: f.CAFile})
	if _, _, err := l.load(); err != nil {
		t.Fatal(err)
	}
	certtest.WriteFile(t, f.CAFile, []byte("garbage"))
	for range 2 {
		if _, _, err := l.load(); err == nil {
			t.Fatal("load() of a garbage CA file = nil error")
		}
	}
	if err := os.Remove(f.CAFile); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.load(); err == nil || !strings.Contains(err.Error(), "read CA file") {
		t.Fatalf("load() of a removed CA file = %v, want a read error", err)
	}
	certtest.Write(t, dir, "side", ca, nil)
	if _, _, err := l.load(); err != nil {
		t.Errorf("load() after fixing the file = %v", err)
	}
}
