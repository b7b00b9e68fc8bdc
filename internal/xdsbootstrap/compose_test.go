package xdsbootstrap_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
)

var pod = xdsbootstrap.Identity{PodName: "fe-0", Namespace: "game", IPs: []string{"10.0.0.9", "fd00::9"}}

func TestNodeID(t *testing.T) {
	tests := []struct {
		name   string
		id     xdsbootstrap.Identity
		domain string
		want   string
	}{
		{name: "default domain", id: pod, want: "sidecar~10.0.0.9~fe-0.game~game.svc.cluster.local"},
		{name: "custom domain", id: pod, domain: "example.org", want: "sidecar~10.0.0.9~fe-0.game~game.svc.example.org"},
		{name: "no ip", id: xdsbootstrap.Identity{PodName: "p", Namespace: "default"}, want: "sidecar~127.0.0.1~p.default~default.svc.cluster.local"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, xdsbootstrap.NodeID(tc.id, tc.domain))
		})
	}
}

// composed is the part of a composed bootstrap the tests look at.
type composed struct {
	XDSServers []struct {
		ServerURI      string                  `json:"server_uri"`
		ChannelCreds   []struct{ Type string } `json:"channel_creds"`
		ServerFeatures []string                `json:"server_features"`
	} `json:"xds_servers"`
	Node struct {
		ID       string            `json:"id"`
		Metadata map[string]string `json:"metadata"`
	} `json:"node"`
	CertificateProviders map[string]struct {
		PluginName string            `json:"plugin_name"`
		Config     map[string]string `json:"config"`
	} `json:"certificate_providers"`
	ServerListenerResourceNameTemplate string `json:"server_listener_resource_name_template"`
}

func compose(t *testing.T, c xdsbootstrap.Config) composed {
	t.Helper()
	b, err := xdsbootstrap.Compose(c)
	require.NoError(t, err, "Compose()")
	require.NoError(t, xdsbootstrap.Validate(b), "Validate(Compose())")
	var got composed
	require.NoError(t, json.Unmarshal(b, &got))
	return got
}

func TestCompose(t *testing.T) {
	got := compose(t, xdsbootstrap.Config{ServerURI: "istiod.istio-system.svc:15010", Identity: pod, CertDir: t.TempDir()})
	require.Len(t, got.XDSServers, 1)
	s := got.XDSServers[0]
	assert.Equal(t, "istiod.istio-system.svc:15010", s.ServerURI)
	require.Len(t, s.ChannelCreds, 1)
	assert.Equal(t, "insecure", s.ChannelCreds[0].Type)
	assert.Equal(t, []string{"xds_v3"}, s.ServerFeatures)
	assert.Regexp(t, regexp.MustCompile(`^sidecar~[^~]+~[^.~]+\.[^~]+~[^~]+\.svc\.cluster\.local$`), got.Node.ID)
	assert.Equal(t, "sidecar~10.0.0.9~fe-0.game~game.svc.cluster.local", got.Node.ID)
	assert.Equal(t, map[string]string{
		"GENERATOR": "grpc", "NAMESPACE": "game", "INSTANCE_IPS": "10.0.0.9,fd00::9", "ISTIO_VERSION": "meshmatch",
	}, got.Node.Metadata)
	assert.Equal(t, "xds.istio.io/grpc/lds/inbound/%s", got.ServerListenerResourceNameTemplate)
	assert.Empty(t, got.CertificateProviders, "certificate_providers without certificate files")
}

func TestComposeIstioVersion(t *testing.T) {
	for _, tc := range []struct {
		name, version, want string
	}{
		{name: "default", want: xdsbootstrap.DefaultIstioVersion},
		{name: "blank", version: "  ", want: xdsbootstrap.DefaultIstioVersion},
		{name: "given", version: "1.28.1", want: "1.28.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := compose(t, xdsbootstrap.Config{ServerURI: "127.0.0.1:15010", Identity: pod, IstioVersion: tc.version, CertDir: t.TempDir()})
			assert.Equal(t, tc.want, got.Node.Metadata["ISTIO_VERSION"], "ISTIO_VERSION metadata")
		})
	}
}

func TestComposeCertificateProvider(t *testing.T) {
	files := []string{xdsbootstrap.CertFile, xdsbootstrap.KeyFile, xdsbootstrap.CAFile}
	for missing := range len(files) + 1 {
		name := "all files"
		if missing < len(files) {
			name = "without " + files[missing]
		}
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			for i, f := range files {
				if i != missing {
					require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("pem"), 0o600))
				}
			}
			got := compose(t, xdsbootstrap.Config{ServerURI: "127.0.0.1:15010", Identity: pod, CertDir: dir})
			if missing < len(files) {
				assert.Empty(t, got.CertificateProviders)
				return
			}
			require.Contains(t, got.CertificateProviders, "default")
			p := got.CertificateProviders["default"]
			assert.Equal(t, "file_watcher", p.PluginName)
			assert.Equal(t, filepath.Join(dir, "certificates.pem"), p.Config["certificate_file"])
			assert.Equal(t, filepath.Join(dir, "private_key.pem"), p.Config["private_key_file"])
			assert.Equal(t, filepath.Join(dir, "root-cert.pem"), p.Config["ca_certificate_file"])
		})
	}
}

func TestComposeNoServer(t *testing.T) {
	_, err := xdsbootstrap.Compose(xdsbootstrap.Config{Identity: pod})
	assert.ErrorContains(t, err, "empty server uri")
}

func TestComposeBadIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     xdsbootstrap.Config
		wantErr string
	}{
		{name: "pod name with ~", cfg: xdsbootstrap.Config{ServerURI: "127.0.0.1:15010", Identity: xdsbootstrap.Identity{PodName: "a~b", Namespace: "game"}}, wantErr: "xdsbootstrap: compose: pod name"},
		{name: "bad domain", cfg: xdsbootstrap.Config{ServerURI: "127.0.0.1:15010", Identity: pod, Domain: "x~y"}, wantErr: "xdsbootstrap: compose: domain"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := xdsbootstrap.Compose(tc.cfg)
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}
