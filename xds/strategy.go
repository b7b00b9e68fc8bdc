package xds

import (
	"fmt"
	"log/slog"
	"net"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	xdscreds "google.golang.org/grpc/credentials/xds"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/dnsresolver"
)

// Defaults used when the matching Strategy field is zero.
const (
	DefaultIstiodAddr    = "istiod.istio-system.svc:15010"
	DefaultProbeTimeout  = time.Second
	DefaultBootstrapWait = 10 * time.Second
)

// Strategy reaches a service through grpc-go's xDS client (proxyless gRPC).
// Its zero value looks for a bootstrap in the environment and otherwise talks
// to istiod at DefaultIstiodAddr. It is safe for concurrent use.
type Strategy struct {
	// IstiodAddr is istiod's plaintext xDS address ("host:port"). Default
	// DefaultIstiodAddr. It is used when no bootstrap is given or found in the
	// environment.
	IstiodAddr string

	// ProbeTimeout bounds how long Detect waits for istiod to answer.
	// Default DefaultProbeTimeout.
	ProbeTimeout time.Duration

	// BootstrapWait bounds how long Detect, and a connection's resolver,
	// wait for the file named by GRPC_XDS_BOOTSTRAP to appear. Default
	// DefaultBootstrapWait.
	BootstrapWait time.Duration

	// Bootstrap, when set, is the bootstrap JSON to use; the environment is
	// then not consulted.
	Bootstrap []byte

	// Env looks up environment variables (GRPC_XDS_BOOTSTRAP,
	// GRPC_XDS_BOOTSTRAP_CONFIG, POD_NAME, POD_NAMESPACE, INSTANCE_IP,
	// ISTIO_VERSION). Default os.Getenv.
	Env func(string) string

	// CertDir holds the workload certificates (certificates.pem,
	// private_key.pem, root-cert.pem) for a composed bootstrap's
	// file_watcher certificate provider, which is added only when all three
	// exist. Default "/var/run/secrets/workload-spiffe-credentials".
	CertDir string

	// Logger receives debug records about detection and bootstrap choice.
	// Default: discard.
	Logger *slog.Logger
}

var _ balancer.Strategy = Strategy{}

// Name returns "xds".
func (Strategy) Name() string { return "xds" }

// Dial returns a connection to addr ("host:port") that resolves the target
// xds:///addr with a resolver of its own, built from the strategy's
// bootstrap. It does no network I/O. The bootstrap file named by
// GRPC_XDS_BOOTSTRAP is read by the connection's resolver in the background:
// while it is not there yet calls wait for it within their deadlines, and a
// file that is invalid or that grpc-go rejects is read again until the Istio
// agent rewrites it. A file whose directory does not exist fails Dial.
//
// A call whose deadline passes while the resolver still waits for the file,
// or while istiod has sent no configuration for addr, fails with
// DeadlineExceeded and an error that says so.
//
// The strategy's options come after opts: the transport credentials are xDS
// credentials, which use what istiod configures and fall back to plaintext,
// and grpc-go's configured retries are off (see noRetry).
func (s Strategy) Dial(addr string, opts ...grpc.DialOption) (balancer.Conn, error) {
	target, err := Target(addr)
	if err != nil {
		return nil, err
	}
	track := &tracker{listener: target[len("xds:///"):]}
	rb, err := s.resolverBuilder(track)
	if err != nil {
		return nil, fmt.Errorf("xds: dial %s: %w", addr, err)
	}
	creds, err := xdscreds.NewClientCredentials(xdscreds.ClientOptions{FallbackCreds: insecure.NewCredentials()})
	if err != nil {
		return nil, fmt.Errorf("xds: dial %s: credentials: %w", addr, err)
	}
	all := make([]grpc.DialOption, 0, len(opts)+3)
	all = append(all, opts...)
	all = append(all, grpc.WithResolvers(rb), grpc.WithTransportCredentials(creds), noRetry)
	cc, err := grpc.NewClient(target, all...)
	if err != nil {
		return nil, fmt.Errorf("xds: dial %s: %w", addr, err)
	}
	return &conn{ClientConn: cc, track: track}, nil
}

// noRetry stops grpc-go from applying the retry policy that istiod puts on
// every route (Istio's default: 2 retries on unavailable, cancelled, …).
// Applied to CreateTicket, CreateBackfill, UpdateBackfill or
// AcknowledgeBackfill, that policy makes a backend that stored the call and
// then failed to answer store it again on another backend: a duplicate the
// caller never hears about. It also multiplies omclient's own retries of
// idempotent calls, which are the only retries meant to happen.
//
// WithDisableRetry keeps grpc-go's transparent retries, which resend only a
// call that never reached a server's handler: in grpc-go v1.85 stream.go,
// csAttempt.shouldRetry returns "retry transparently" for a stream that was
// never created (allowTransparentRetry) or that the server did not process
// (first attempt and Unprocessed) before it checks dopts.disableRetry.
var noRetry = grpc.WithDisableRetry()

// Target returns the xDS target for addr ("host:port"), such as
// "xds:///open-match-frontend.open-match.svc.cluster.local:50504". addr is
// checked as every meshmatch strategy checks it: host an IP address or DNS
// name, port a decimal number in [1, 65535] written without sign or leading
// zero (istiod names its listener "host:80", never "host:0080").
func Target(addr string) (string, error) {
	host, port, err := dnsresolver.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("xds: %w", err)
	}
	return "xds:///" + net.JoinHostPort(host, port), nil
}

func (s Strategy) istiodAddr() string {
	if s.IstiodAddr == "" {
		return DefaultIstiodAddr
	}
	return s.IstiodAddr
}

func (s Strategy) probeTimeout() time.Duration {
	if s.ProbeTimeout <= 0 {
		return DefaultProbeTimeout
	}
	return s.ProbeTimeout
}

func (s Strategy) bootstrapWait() time.Duration {
	if s.BootstrapWait <= 0 {
		return DefaultBootstrapWait
	}
	return s.BootstrapWait
}

func (s Strategy) env(key string) string {
	if s.Env == nil {
		return os.Getenv(key)
	}
	return s.Env(key)
}

func (s Strategy) logger() *slog.Logger {
	if s.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Logger
}
