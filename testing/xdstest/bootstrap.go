package xdstest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// DefaultNodeID is the node id WriteBootstrap uses, shaped like the ids of
// Istio's proxyless clients.
const DefaultNodeID = "sidecar~127.0.0.1~xdstest-0.default~default.svc.cluster.local"

// Bootstrap returns grpc-go bootstrap JSON that points at s over plaintext
// with nodeID and the metadata istiod needs from a gRPC client.
func (s *Server) Bootstrap(nodeID string) []byte {
	return s.bootstrap(nodeID, nil)
}

// CertFiles names the PEM files a file_watcher certificate provider reads.
type CertFiles struct {
	// CertFile and KeyFile hold the identity certificate chain and its key.
	CertFile string
	KeyFile  string
	// CAFile holds the root certificates peers are verified against.
	CAFile string
	// Refresh is how often the files are read again; zero means 10 minutes.
	Refresh time.Duration
}

// BootstrapWithCerts is Bootstrap plus a file_watcher certificate provider
// named CertProviderInstance that reads files, the way Istio's agent writes
// the bootstrap of a proxyless pod. Clusters set with SetTLS take their
// certificates from it.
func (s *Server) BootstrapWithCerts(nodeID string, files CertFiles) []byte {
	refresh := files.Refresh
	if refresh <= 0 {
		refresh = 10 * time.Minute
	}
	return s.bootstrap(nodeID, map[string]any{CertProviderInstance: map[string]any{
		"plugin_name": "file_watcher",
		"config": map[string]string{
			"certificate_file":    files.CertFile,
			"private_key_file":    files.KeyFile,
			"ca_certificate_file": files.CAFile,
			"refresh_interval":    strconv.FormatFloat(refresh.Seconds(), 'f', -1, 64) + "s",
		},
	}})
}

func (s *Server) bootstrap(nodeID string, providers map[string]any) []byte {
	f := map[string]any{
		"xds_servers": []any{map[string]any{
			"server_uri":      s.addr,
			"channel_creds":   []any{map[string]any{"type": "insecure"}},
			"server_features": []string{"xds_v3"},
		}},
		"node": map[string]any{
			"id": nodeID,
			"metadata": map[string]string{
				"GENERATOR":    "grpc",
				"NAMESPACE":    "default",
				"INSTANCE_IPS": "127.0.0.1",
			},
		},
	}
	if providers != nil {
		f["certificate_providers"] = providers
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		panic("xdstest: bootstrap: " + err.Error()) // maps of strings always marshal
	}
	return b
}

// WriteBootstrap writes s's bootstrap (with DefaultNodeID) to
// dir/bootstrap.json and returns the file's path.
func (s *Server) WriteBootstrap(t testing.TB, dir string) string {
	t.Helper()
	path := filepath.Join(dir, "bootstrap.json")
	if err := os.WriteFile(path, s.Bootstrap(DefaultNodeID), 0o600); err != nil {
		t.Fatalf("xdstest: write bootstrap: %v", err)
	}
	return path
}
