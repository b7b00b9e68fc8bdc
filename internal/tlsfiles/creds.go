package tlsfiles

import (
	"context"
	"crypto/tls"
	"net"

	"google.golang.org/grpc/credentials"
)

// NewClient returns client credentials that verify the server against
// f.CAFile (the system roots when empty) and the name f.ServerName (the
// dialed host when empty), and present f.CertFile and f.KeyFile when set
// (mutual TLS). The files are read at each handshake; problems with them fail
// that handshake.
func NewClient(f Files) credentials.TransportCredentials {
	return &creds{loader: newLoader(f), serverName: f.ServerName}
}

// NewServer returns server credentials that present f.CertFile and f.KeyFile
// and, when f.CAFile is set, require client certificates signed by a CA in
// it (mutual TLS). The files are read at each handshake; problems with them
// fail that handshake.
func NewServer(f Files) credentials.TransportCredentials {
	return &creds{loader: newLoader(f)}
}

// creds builds a tls.Config from the current files for each handshake and
// lets grpc-go's TLS credentials do the handshake.
type creds struct {
	loader     *loader // shared by clones
	serverName string
}

func (c *creds) ClientHandshake(ctx context.Context, authority string, raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	pool, pair, err := c.loader.load()
	if err != nil {
		return nil, nil, err
	}
	cfg := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	if pair != nil {
		cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return pair, nil }
	}
	if c.serverName != "" {
		// grpc-go's TLS credentials check the server against the authority.
		authority = c.serverName
	}
	return credentials.NewTLS(cfg).ClientHandshake(ctx, authority, raw)
}

func (c *creds) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	pool, pair, err := c.loader.load()
	if err != nil {
		return nil, nil, err
	}
	if pair == nil {
		return nil, nil, errorf("server needs CertFile and KeyFile")
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{*pair}, MinVersion: tls.VersionTLS12}
	if pool != nil {
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.RequireAndVerifyClientCert
	}
	return credentials.NewTLS(cfg).ServerHandshake(raw)
}

func (c *creds) Info() credentials.ProtocolInfo {
	return credentials.ProtocolInfo{SecurityProtocol: "tls"}
}

func (c *creds) Clone() credentials.TransportCredentials {
	cc := *c
	return &cc
}

// OverrideServerName sets the name a client checks the server certificate
// against.
//
// Deprecated: set Files.ServerName instead. It is here because
// credentials.TransportCredentials requires it.
func (c *creds) OverrideServerName(name string) error {
	c.serverName = name
	return nil
}
