package xdstest

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// DefaultNodeID is the node id WriteBootstrap uses, shaped like the ids of
// Istio's proxyless clients.
const DefaultNodeID = "sidecar~127.0.0.1~xdstest-0.default~default.svc.cluster.local"

// Bootstrap returns grpc-go bootstrap JSON that points at s over plaintext
// with nodeID and the metadata istiod needs from a gRPC client.
func (s *Server) Bootstrap(nodeID string) []byte {
	b, err := json.MarshalIndent(map[string]any{
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
	}, "", "  ")
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
