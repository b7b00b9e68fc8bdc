package omclient

import (
	"context"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/tlsfiles"
)

// TLSFiles names the PEM files of one side of a TLS connection. The files are
// read at every TLS handshake, that is for every new connection, and parsed
// again only when their content changed: certificates rotated on disk (by
// cert-manager, or a Kubernetes Secret volume) are used by the next
// connection without restarting the program. Replace the files atomically
// (write elsewhere, then rename), as Kubernetes does.
//
// Problems with the files (missing, not PEM, a key that does not match its
// certificate) fail the handshake: calls fail with code Unavailable and a
// message starting "omclient: tls: " that names the file. Use Check to find
// them at startup instead.
//
// The zero value makes WithTLS verify the server against the system roots.
type TLSFiles struct {
	// CAFile holds the CA certificates the peer is verified against. For
	// WithTLS, empty means the system roots. For WithServerTLS, setting it
	// makes the server require client certificates signed by one of them
	// (mutual TLS).
	CAFile string
	// CertFile and KeyFile hold this side's certificate chain and private
	// key; set both or neither. WithTLS presents them to the server (mutual
	// TLS); WithServerTLS needs them.
	CertFile, KeyFile string
	// ServerName is the name WithTLS checks the server certificate against.
	// Empty means the host of the address dialed, so an IP literal needs an
	// IP SAN. WithServerTLS ignores it.
	ServerName string
}

// Check reads and parses the files now and returns the first problem, so a
// program can refuse to start with files that every handshake would reject.
func (f TLSFiles) Check() error {
	return tlsfiles.Files(f).Check()
}

// WithTLS makes the Conn speak TLS to the service, verified with f (mutual
// TLS when f has a certificate and key). It works with the Headless and
// Static strategies, which use the transport credentials they are given.
//
// A connection made with WithTLS is never plaintext:
//
//   - The Sidecar strategy always dials plaintext (the sidecar adds mTLS), so
//     NewConn fails when WithTLS meets a Sidecar forced by WithStrategy or
//     $MESHMATCH_STRATEGY; the error says the credentials "require transport
//     level security".
//   - The Auto chain skips a ready sidecar instead: its dial fails, is logged
//     as a warning, and the next strategy is used.
//   - The proxyless xDS strategy uses the certificates istiod configures, not
//     f. Its plaintext fallback is refused, so where istiod configures no TLS
//     its calls fail with Unavailable and Auto moves on to Headless after its
//     gate. Force Headless to skip that wait.
//   - Transport credentials passed later through WithDialOptions replace f;
//     plaintext ones make NewConn fail.
func WithTLS(f TLSFiles) Option {
	return WithDialOptions(
		grpc.WithTransportCredentials(tlsfiles.NewClient(tlsfiles.Files(f))),
		grpc.WithPerRPCCredentials(requireTLS{}),
	)
}

// WithServerTLS makes a Server (NewMatchFunctionServer, NewEvaluatorServer)
// serve TLS with f.CertFile and f.KeyFile, and, when f.CAFile is set, accept
// only clients presenting a certificate signed by a CA in it (mutual TLS).
// A handshake that fails because of the files is visible only to the server's
// gRPC logs, so check them at startup with TLSFiles.Check.
func WithServerTLS(f TLSFiles) ServerOption {
	return WithServerOptions(grpc.Creds(tlsfiles.NewServer(tlsfiles.Files(f))))
}

// requireTLS adds no metadata to calls; it makes grpc-go refuse a
// connection whose transport is not secure, at grpc.NewClient when its
// transport credentials are plaintext and at each handshake otherwise.
type requireTLS struct{}

func (requireTLS) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return nil, nil
}

func (requireTLS) RequireTransportSecurity() bool { return true }
