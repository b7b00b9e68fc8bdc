package endpointslice

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		addr string
		want Target
	}{
		{addr: "om:50504", want: Target{Name: "om", Port: 50504}},
		{addr: "om.open-match:50504", want: Target{Name: "om", Namespace: "open-match", Port: 50504}},
		{addr: "om.open-match.svc:1", want: Target{Name: "om", Namespace: "open-match", Port: 1}},
		{addr: "om.open-match.svc.cluster.local:65535", want: Target{Name: "om", Namespace: "open-match", Port: 65535}},
		{addr: "om.open-match.svc.corp.example.:80", want: Target{Name: "om", Namespace: "open-match", Port: 80}},
		{addr: "om.open-match.svc.cluster.local:grpc", want: Target{Name: "om", Namespace: "open-match", PortName: "grpc"}},
		{addr: "om:grpc-web2", want: Target{Name: "om", PortName: "grpc-web2"}},
		{addr: "om:a23456789012345", want: Target{Name: "om", PortName: "a23456789012345"}},
	} {
		got, err := ParseTarget(tc.addr)
		if assert.NoError(t, err, "ParseTarget(%q)", tc.addr) {
			assert.Equal(t, tc.want, got, "ParseTarget(%q)", tc.addr)
		}
	}
}

func TestParseTargetRejects(t *testing.T) {
	for _, addr := range []string{"", "om", "om:", "om:Grpc", "om:grpc-", "om:-grpc", "om:grpc--web", "om:a234567890123456", "om:grpc_web", "om:0", "om:080", "om:-1", "om:65536", ":80",
		"Om:80", "om_x:80", "om.ns.cluster.local:80", "-om:80", "om..svc:80", strings.Repeat("a", 64) + ":80", "10.0.0.1:80"} {
		_, err := ParseTarget(addr)
		if assert.Error(t, err, "ParseTarget(%q)", addr) {
			assert.True(t, strings.HasPrefix(err.Error(), "endpointslice: invalid address"), "ParseTarget(%q) = %v", addr, err)
		}
	}
}

// TestConnectErrors: each missing or malformed credential fails connect
// with an error naming it, before any request.
func TestConnectErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	token, empty := write("token", "abc\n"), write("empty", " \n")
	notPEM, badNS := write("ca.crt", "not a certificate"), write("namespace", "Not_A_Namespace")
	api := "https://127.0.0.1:6443"
	for _, tc := range []struct {
		name   string
		c      Config
		target Target
		want   string
	}{
		{name: "no token file", c: Config{APIServer: api, TokenFile: filepath.Join(dir, "missing")}, target: Target{Namespace: "ns"},
			want: "read service account token: open " + filepath.Join(dir, "missing")},
		{name: "token path is a directory", c: Config{APIServer: api, TokenFile: dir}, target: Target{Namespace: "ns"}, want: "read service account token"},
		{name: "empty token", c: Config{APIServer: api, TokenFile: empty}, target: Target{Namespace: "ns"}, want: "token file " + empty + " is empty"},
		{name: "no CA", c: Config{APIServer: api, TokenFile: token, CAFile: filepath.Join(dir, "none")}, target: Target{Namespace: "ns"}, want: "read CA file"},
		{name: "CA not PEM", c: Config{APIServer: api, TokenFile: token, CAFile: notPEM}, target: Target{Namespace: "ns"}, want: "holds no PEM certificate"},
		{name: "no namespace", c: Config{APIServer: api, TokenFile: token, NamespaceFile: filepath.Join(dir, "none")}, want: "pod's namespace is unknown"},
		{name: "bad namespace", c: Config{APIServer: api, TokenFile: token, NamespaceFile: badNS}, want: "not a namespace name"},
		{name: "not https", c: Config{APIServer: "http://127.0.0.1:8080"}, want: "want an https:// URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tgt := tc.target
			cl, err := tc.c.connect(&tgt)
			if err == nil {
				cl.close()
				t.Fatalf("connect() = nil error, want %q", tc.want)
			}
			assert.True(t, strings.HasPrefix(err.Error(), "endpointslice: ") && strings.Contains(err.Error(), tc.want),
				"connect() = %v, want it to hold %q", err, tc.want)
		})
	}
}

func TestInClusterAPIServer(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
	t.Setenv("KUBERNETES_SERVICE_PORT", "443")
	got, err := Config{}.apiServer()
	assert.NoError(t, err)
	assert.Equal(t, "https://[fd00::1]:443", got, "apiServer()")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	_, err = Config{}.apiServer()
	assert.ErrorContains(t, err, "not in a Kubernetes pod")
}
