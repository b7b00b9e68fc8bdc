package xdsbootstrap

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// DefaultCertDir is where Istio's agent writes the workload certificates for
// proxyless gRPC.
const DefaultCertDir = "/var/run/secrets/workload-spiffe-credentials"

// Certificate file names inside a certificate directory, as Istio writes them.
const (
	CertFile = "certificates.pem"
	KeyFile  = "private_key.pem"
	CAFile   = "root-cert.pem"
)

// ServerListenerTemplate is the listener name template istiod uses for
// proxyless gRPC servers.
const ServerListenerTemplate = "xds.istio.io/grpc/lds/inbound/%s"

// Config is what a composed bootstrap is made from.
type Config struct {
	// ServerURI is istiod's address, such as "istiod.istio-system.svc:15010".
	ServerURI string
	// Identity is the pod identity that goes into the node.
	Identity Identity
	// CertDir holds the workload certificates; "" means DefaultCertDir.
	CertDir string
	// Domain is the cluster's DNS domain; "" means "cluster.local".
	Domain string
	// IstioVersion goes into the node metadata as ISTIO_VERSION; "" means
	// DefaultIstioVersion.
	IstioVersion string
}

// DefaultIstioVersion is the ISTIO_VERSION a composed bootstrap reports
// when none is given. istiod warns on every connection whose node metadata
// has no ISTIO_VERSION, then reads it as "the latest version"; it reads a
// value that does not start with a version number ("1.24.0") the same way,
// without the warning. So this value changes nothing in what istiod sends,
// and names the client in istiod's config_dump.
const DefaultIstioVersion = "meshmatch"

// NodeID returns the node id istiod expects from a proxyless client:
// sidecar~<ip>~<pod>.<ns>~<ns>.svc.<domain>. It has that shape only for an
// id that passes Check and a domain that is a DNS name; Compose checks both.
func NodeID(id Identity, domain string) string {
	if domain == "" {
		domain = "cluster.local"
	}
	return fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.%s", id.IP(), id.PodName, id.Namespace, id.Namespace, domain)
}

// Compose returns bootstrap JSON that points grpc-go's xDS client at istiod
// over plaintext with the node identity and metadata istiod needs to send
// gRPC-shaped configuration. A file_watcher certificate provider named
// "default" is included only when all three certificate files exist. It
// fails when the identity does not pass Identity.Check or the domain is not
// a DNS name, since istiod could not parse the node id.
func Compose(c Config) ([]byte, error) {
	if strings.TrimSpace(c.ServerURI) == "" {
		return nil, errors.New("xdsbootstrap: compose: empty server uri")
	}
	if err := c.Identity.Check(); err != nil {
		return nil, fmt.Errorf("xdsbootstrap: compose: %w", err)
	}
	if c.Domain != "" {
		if err := checkSubdomain(c.Domain); err != nil {
			return nil, fmt.Errorf("xdsbootstrap: compose: domain: %w", err)
		}
	}
	f := file{
		XDSServers: []server{{
			ServerURI:      c.ServerURI,
			ChannelCreds:   []creds{{Type: "insecure"}},
			ServerFeatures: []string{"xds_v3"},
		}},
		Node: &node{
			ID: NodeID(c.Identity, c.Domain),
			Metadata: map[string]string{
				"GENERATOR":     "grpc",
				"NAMESPACE":     c.Identity.Namespace,
				"INSTANCE_IPS":  strings.Join(c.Identity.IPs, ","),
				"ISTIO_VERSION": c.istioVersion(),
			},
		},
		CertificateProviders:               certProviders(c.CertDir),
		ServerListenerResourceNameTemplate: ServerListenerTemplate,
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("xdsbootstrap: compose: %w", err)
	}
	return b, nil
}

func (c Config) istioVersion() string {
	if v := strings.TrimSpace(c.IstioVersion); v != "" {
		return v
	}
	return DefaultIstioVersion
}

// certProviders returns the file_watcher provider for dir, or nil when any
// certificate file is missing.
func certProviders(dir string) map[string]provider {
	if dir == "" {
		dir = DefaultCertDir
	}
	paths := map[string]string{
		"certificate_file":    filepath.Join(dir, CertFile),
		"private_key_file":    filepath.Join(dir, KeyFile),
		"ca_certificate_file": filepath.Join(dir, CAFile),
	}
	for _, p := range paths {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return nil
		}
	}
	cfg, _ := json.Marshal(map[string]string{
		"certificate_file":    paths["certificate_file"],
		"private_key_file":    paths["private_key_file"],
		"ca_certificate_file": paths["ca_certificate_file"],
		"refresh_interval":    "900s",
	})
	return map[string]provider{"default": {PluginName: "file_watcher", Config: cfg}}
}
