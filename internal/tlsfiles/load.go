package tlsfiles

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"sync"
)

// Files names the PEM files of one side of a connection.
type Files struct {
	// CAFile holds the certificates the peer is verified against. Empty
	// means the system roots for a client, and no client certificates for a
	// server.
	CAFile string
	// CertFile and KeyFile hold the side's own certificate chain and private
	// key. Both or neither must be set; a server needs them.
	CertFile, KeyFile string
	// ServerName is the name a client checks the server certificate against.
	// Empty means the host of the address dialed. Servers ignore it.
	ServerName string
}

// Check reads and parses the files now and returns the first problem. Use it
// to fail at startup rather than at the first handshake.
func (f Files) Check() error {
	_, _, err := newLoader(f).load()
	return err
}

// errorf formats an error with the package's prefix.
func errorf(format string, args ...any) error {
	return fmt.Errorf("omclient: tls: "+format, args...)
}

// loader reads the files and keeps what it parsed until their content
// changes. It is safe for concurrent use.
type loader struct {
	files Files

	mu      sync.Mutex
	caRaw   []byte
	pool    *x509.CertPool
	pairRaw [2][]byte
	pair    *tls.Certificate
}

func newLoader(f Files) *loader { return &loader{files: f} }

// load returns the current CA pool (nil without CAFile) and key pair (nil
// without CertFile and KeyFile).
func (l *loader) load() (*x509.CertPool, *tls.Certificate, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	pool, err := l.loadCA()
	if err != nil {
		return nil, nil, err
	}
	pair, err := l.loadPair()
	if err != nil {
		return nil, nil, err
	}
	return pool, pair, nil
}

func (l *loader) loadCA() (*x509.CertPool, error) {
	name := l.files.CAFile
	if name == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, errorf("read CA file %s: %w", name, err)
	}
	if l.pool != nil && bytes.Equal(raw, l.caRaw) {
		return l.pool, nil
	}
	pool, err := parsePool(raw)
	if err != nil {
		return nil, errorf("CA file %s: %w", name, err)
	}
	l.caRaw, l.pool = raw, pool
	return pool, nil
}

func (l *loader) loadPair() (*tls.Certificate, error) {
	cf, kf := l.files.CertFile, l.files.KeyFile
	switch {
	case cf == "" && kf == "":
		return nil, nil
	case cf == "" || kf == "":
		return nil, errorf("CertFile (%q) and KeyFile (%q) must be set together", cf, kf)
	}
	certRaw, err := os.ReadFile(cf)
	if err != nil {
		return nil, errorf("read certificate file %s: %w", cf, err)
	}
	keyRaw, err := os.ReadFile(kf)
	if err != nil {
		return nil, errorf("read key file %s: %w", kf, err)
	}
	if l.pair != nil && bytes.Equal(certRaw, l.pairRaw[0]) && bytes.Equal(keyRaw, l.pairRaw[1]) {
		return l.pair, nil
	}
	pair, err := tls.X509KeyPair(certRaw, keyRaw)
	if err != nil {
		return nil, errorf("key pair %s, %s: %w", cf, kf, err)
	}
	l.pairRaw, l.pair = [2][]byte{certRaw, keyRaw}, &pair
	return &pair, nil
}

// parsePool parses every CERTIFICATE block of raw. Unlike
// x509.CertPool.AppendCertsFromPEM it fails on a block that does not parse
// instead of skipping it.
func parsePool(raw []byte) (*x509.CertPool, error) {
	pool := x509.NewCertPool()
	n := 0
	for rest := raw; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", n+1, err)
		}
		pool.AddCert(c)
		n++
	}
	if n == 0 {
		return nil, errors.New("no PEM certificates found")
	}
	return pool, nil
}
