package xdsbootstrap_test

import (
	"encoding/json"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
)

// FuzzValidateBootstrap checks that Validate never panics, that what it
// accepts has the parts grpc-go needs, and that ReadFile agrees with it.
func FuzzValidateBootstrap(f *testing.F) {
	for _, seed := range []string{
		`{"xds_servers":[{"server_uri":"127.0.0.1:15010","channel_creds":[{"type":"insecure"}],"server_features":["xds_v3"]}],` +
			`"node":{"id":"sidecar~127.0.0.1~a.b~b.svc.cluster.local","metadata":{"GENERATOR":"grpc"}},` +
			`"certificate_providers":{"default":{"plugin_name":"file_watcher","config":{"certificate_file":"/c"}}}}`,
		`{"xds_servers":[{"server_uri":"x","channel_creds":[{"type":"google_default"},{"type":"insecure"}]}]}`,
		`{"xds_servers":[]}`, `{"xds_servers":[{"server_uri":""}]}`, `{"xds_servers":[{"server_uri":"x","channel_creds":[{}]}]}`,
		`{"xds_servers":[{"server_uri":"x","channel_creds":[{"type":"insecure"}]}],"node":{"id":7}}`,
		`{"xds_servers":[{"server_uri":"x","channel_creds":[{"type":"insecure"}]}],"certificate_providers":{"d":{}}}`,
		`{"xds_servers":null}`, `{"xds_servers":[null]}`, `[]`, `null`, `""`, `{`, ``, " \n", `{"xds_servers":{"a":1}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		err := xdsbootstrap.Validate(b)
		if again := xdsbootstrap.Validate(b); (again == nil) != (err == nil) {
			t.Fatalf("Validate(%q) = %v, then %v", b, err, again)
		}
		path := filepath.Join(t.TempDir(), "bootstrap.json")
		if werr := os.WriteFile(path, b, 0o600); werr != nil {
			t.Fatal(werr)
		}
		got, rerr := xdsbootstrap.ReadFile(path)
		if (rerr == nil) != (err == nil) {
			t.Fatalf("ReadFile = %v but Validate = %v for %q", rerr, err, b)
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "xdsbootstrap: ") {
				t.Fatalf("Validate(%q) error %q lacks the \"xdsbootstrap: \" prefix", b, err)
			}
			return
		}
		if string(got) != string(b) {
			t.Fatalf("ReadFile returned %q, want the file's %q", got, b)
		}
		checkValid(t, b)
		if err := xdsbootstrap.CheckCreds(b, func(string) bool { return true }); err != nil {
			t.Fatalf("CheckCreds(%q, all supported) = %v after Validate accepted it", b, err)
		}
		if err := xdsbootstrap.CheckCreds(b, func(string) bool { return false }); err == nil {
			t.Fatalf("CheckCreds(%q, none supported) = nil", b)
		}
	})
}

// checkValid checks b against an independent reading of what Validate
// promises: a JSON object with xds servers, each with a server_uri and typed
// channel credentials, and certificate providers naming a plugin.
func checkValid(t *testing.T, b []byte) {
	t.Helper()
	var f struct {
		XDSServers []struct {
			ServerURI    string `json:"server_uri"`
			ChannelCreds []struct {
				Type string `json:"type"`
			} `json:"channel_creds"`
		} `json:"xds_servers"`
		CertificateProviders map[string]struct {
			PluginName string `json:"plugin_name"`
		} `json:"certificate_providers"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("Validate accepted %q, which does not decode: %v", b, err)
	}
	if len(f.XDSServers) == 0 {
		t.Fatalf("Validate accepted %q without xds servers", b)
	}
	for i, s := range f.XDSServers {
		if strings.TrimSpace(s.ServerURI) == "" || len(s.ChannelCreds) == 0 {
			t.Fatalf("Validate accepted %q whose xds_servers[%d] lacks server_uri or channel_creds", b, i)
		}
		for _, c := range s.ChannelCreds {
			if c.Type == "" {
				t.Fatalf("Validate accepted %q with an untyped channel credential", b)
			}
		}
	}
	for name, p := range f.CertificateProviders {
		if p.PluginName == "" {
			t.Fatalf("Validate accepted %q whose certificate provider %q names no plugin", b, name)
		}
	}
}

// nodeIDShape is sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local with pod a
// DNS-1123 subdomain and ns a DNS-1123 label.
var nodeIDShape = regexp.MustCompile(`^sidecar~([0-9a-f.:]+)~((?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)\.([a-z0-9](?:[a-z0-9-]*[a-z0-9])?)~([a-z0-9-]+)\.svc\.cluster\.local$`)

// FuzzIdentity works a pod identity out of arbitrary environment values,
// namespace file content and hostname, and checks that a composed
// bootstrap either fails or carries a node id of the shape istiod parses,
// made of those values.
func FuzzIdentity(f *testing.F) {
	f.Add("fe-0", "game", "10.0.0.9", "ns-file\n", "host-1", true)
	f.Add("", "", "", "from-file\n", "Build-Host.local", true)
	f.Add("", "", "", "", "", false)
	f.Add("a~b", "c.d", "fd00::1", "x", "y", true)
	f.Add(" p ", " n ", " 127.0.0.1 ", "  ", "bad~host", true)
	f.Add("p", "n", "fe80::1%eth0", "", "", true)
	f.Add("p", "n", "::ffff:10.0.0.1", "", "", true)
	f.Fuzz(func(t *testing.T, podName, namespace, ip, nsFile, hostname string, hostOK bool) {
		env := map[string]string{"POD_NAME": podName, "POD_NAMESPACE": namespace, "INSTANCE_IP": ip}
		nsPath := filepath.Join(t.TempDir(), "namespace")
		if err := os.WriteFile(nsPath, []byte(nsFile), 0o600); err != nil {
			t.Fatal(err)
		}
		src := xdsbootstrap.Source{
			Env:           func(k string) string { return env[k] },
			NamespaceFile: nsPath,
			Hostname: func() (string, error) {
				if !hostOK {
					return "", errors.New("no hostname")
				}
				return hostname, nil
			},
			InterfaceAddrs: func() ([]net.Addr, error) {
				return []net.Addr{&net.IPNet{IP: net.IPv4(10, 1, 2, 3), Mask: net.CIDRMask(16, 32)}}, nil
			},
		}
		id := src.Identity()
		if id.PodName == "" || id.Namespace == "" || len(id.IPs) == 0 {
			t.Fatalf("Identity() = %+v, want a pod name, a namespace and an IP", id)
		}
		if strings.TrimSpace(podName) == "" {
			if err := id.Check(); err != nil && !strings.HasPrefix(err.Error(), "namespace") && !strings.HasPrefix(err.Error(), "pod ip") {
				t.Fatalf("Identity() = %+v: pod name from the hostname fallback fails Check: %v", id, err)
			}
		}
		if strings.TrimSpace(namespace) == "" {
			if err := id.Check(); err != nil && strings.HasPrefix(err.Error(), "namespace") {
				t.Fatalf("Identity() = %+v: namespace from the file fallback fails Check: %v", id, err)
			}
		}
		b, err := xdsbootstrap.Compose(xdsbootstrap.Config{ServerURI: "127.0.0.1:15010", Identity: id, CertDir: t.TempDir()})
		if (err == nil) != (id.Check() == nil) {
			t.Fatalf("Compose(%+v) = %v, but Check() = %v", id, err, id.Check())
		}
		if err != nil {
			if !strings.HasPrefix(err.Error(), "xdsbootstrap: compose: ") {
				t.Fatalf("Compose error %q lacks the \"xdsbootstrap: compose: \" prefix", err)
			}
			return
		}
		if err := xdsbootstrap.Validate(b); err != nil {
			t.Fatalf("Validate(Compose(%+v)) = %v", id, err)
		}
		var got struct {
			Node struct {
				ID       string            `json:"id"`
				Metadata map[string]string `json:"metadata"`
			} `json:"node"`
		}
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		m := nodeIDShape.FindStringSubmatch(got.Node.ID)
		if m == nil {
			t.Fatalf("node id %q from %+v does not have the shape sidecar~<ip>~<pod>.<ns>~<ns>.svc.cluster.local", got.Node.ID, id)
		}
		if _, err := netip.ParseAddr(m[1]); err != nil || m[1] != id.IP() || m[2] != id.PodName || m[3] != id.Namespace || m[4] != id.Namespace {
			t.Fatalf("node id %q: ip %q, pod %q, namespaces %q and %q; want %q, %q, %q", got.Node.ID, m[1], m[2], m[3], m[4], id.IP(), id.PodName, id.Namespace)
		}
		if got.Node.ID != xdsbootstrap.NodeID(id, "") {
			t.Fatalf("composed node id %q != NodeID() %q", got.Node.ID, xdsbootstrap.NodeID(id, ""))
		}
		if ns := got.Node.Metadata["NAMESPACE"]; ns != id.Namespace {
			t.Fatalf("metadata NAMESPACE = %q, want %q", ns, id.Namespace)
		}
		if ips := got.Node.Metadata["INSTANCE_IPS"]; ips != strings.Join(id.IPs, ",") || strings.Count(ips, ",") != len(id.IPs)-1 {
			t.Fatalf("metadata INSTANCE_IPS = %q, want %v joined by commas", ips, id.IPs)
		}
	})
}
