package certtest

import (
	"os"
	"path/filepath"
	"testing"
)

// Files names the PEM files of one side of a connection: the CA bundle it
// trusts its peer by, and its own certificate and key.
type Files struct {
	CAFile, CertFile, KeyFile string
}

// Write writes ca's certificate and p's certificate and key into dir as
// <name>-ca.pem, <name>.pem and <name>-key.pem and returns their paths. ca
// is the authority the side trusts its peer by, not necessarily p's issuer.
// Existing files are replaced atomically, so Write also rotates them. A nil
// ca or p writes no such files and leaves their fields empty.
func Write(t testing.TB, dir, name string, ca *CA, p *Pair) Files {
	t.Helper()
	var f Files
	if ca != nil {
		f.CAFile = filepath.Join(dir, name+"-ca.pem")
		WriteFile(t, f.CAFile, ca.CertPEM)
	}
	if p != nil {
		f.CertFile = filepath.Join(dir, name+".pem")
		f.KeyFile = filepath.Join(dir, name+"-key.pem")
		WriteFile(t, f.CertFile, p.CertPEM)
		WriteFile(t, f.KeyFile, p.KeyPEM)
	}
	return f
}

// WriteFile writes data to path atomically: into a temporary file in the
// same directory, renamed over path. Readers see the old content or the new,
// never a part.
func WriteFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp, err := os.CreateTemp(filepath.Dir(path), ".certtest-*")
	if err != nil {
		t.Fatalf("certtest: write %s: %v", path, err)
	}
	_, err = tmp.Write(data)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), path)
	}
	if err != nil {
		_ = os.Remove(tmp.Name())
		t.Fatalf("certtest: write %s: %v", path, err)
	}
}
