package xdsbootstrap_test

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
)

func addrs(cidrs ...string) func() ([]net.Addr, error) {
	return func() ([]net.Addr, error) {
		var out []net.Addr
		for _, c := range cidrs {
			ip, n, err := net.ParseCIDR(c)
			if err != nil {
				return nil, err
			}
			n.IP = ip
			out = append(out, n)
		}
		return out, nil
	}
}

func TestIdentity(t *testing.T) {
	nsFile := filepath.Join(t.TempDir(), "namespace")
	require.NoError(t, os.WriteFile(nsFile, []byte("from-file\n"), 0o600))
	hostname := func() (string, error) { return "host-7", nil }
	tests := []struct {
		name   string
		src    xdsbootstrap.Source
		want   xdsbootstrap.Identity
		wantIP string
	}{
		{
			name: "downward api",
			src: xdsbootstrap.Source{
				Env: func(k string) string {
					return map[string]string{"POD_NAME": "fe-0", "POD_NAMESPACE": "game", "INSTANCE_IP": "10.0.0.9"}[k]
				},
				NamespaceFile:  nsFile,
				Hostname:       hostname,
				InterfaceAddrs: addrs("127.0.0.1/8", "10.0.0.9/24", "fd00::9/64"),
			},
			want:   xdsbootstrap.Identity{PodName: "fe-0", Namespace: "game", IPs: []string{"10.0.0.9"}},
			wantIP: "10.0.0.9",
		},
		{
			name: "INSTANCE_IP alone, not the other interfaces",
			src: xdsbootstrap.Source{
				Env:            func(k string) string { return map[string]string{"INSTANCE_IP": "10.0.0.9"}[k] },
				NamespaceFile:  nsFile,
				Hostname:       hostname,
				InterfaceAddrs: addrs("10.0.0.9/24", "172.17.0.1/16", "10.244.0.1/24", "fd00::9/64"),
			},
			want:   xdsbootstrap.Identity{PodName: "host-7", Namespace: "from-file", IPs: []string{"10.0.0.9"}},
			wantIP: "10.0.0.9",
		},
		{
			name: "no env: hostname, namespace file, interfaces without loopback",
			src: xdsbootstrap.Source{
				Env:            func(string) string { return "" },
				NamespaceFile:  nsFile,
				Hostname:       hostname,
				InterfaceAddrs: addrs("127.0.0.1/8", "::1/128", "fe80::1/64", "fd00::5/64", "10.1.2.3/16"),
			},
			want:   xdsbootstrap.Identity{PodName: "host-7", Namespace: "from-file", IPs: []string{"10.1.2.3", "fd00::5"}},
			wantIP: "10.1.2.3",
		},
		{
			name: "nothing known",
			src: xdsbootstrap.Source{
				Env:            func(string) string { return "" },
				NamespaceFile:  filepath.Join(t.TempDir(), "missing"),
				Hostname:       func() (string, error) { return "", errors.New("no hostname") },
				InterfaceAddrs: func() ([]net.Addr, error) { return nil, errors.New("no interfaces") },
			},
			want:   xdsbootstrap.Identity{PodName: "unknown", Namespace: "default"},
			wantIP: "127.0.0.1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.src.Identity()
			assert.Equal(t, tc.want, got, "Identity()")
			assert.Equal(t, tc.wantIP, got.IP(), "Identity().IP()")
		})
	}
}

func TestIdentityFallbacksSkipBadValues(t *testing.T) {
	nsFile := filepath.Join(t.TempDir(), "namespace")
	require.NoError(t, os.WriteFile(nsFile, []byte("Not~A~Namespace\n"), 0o600))
	for _, tc := range []struct {
		hostname string
		wantPod  string
	}{
		{hostname: "Build-Host.Example.COM", wantPod: "build-host.example.com"},
		{hostname: "bad~host", wantPod: "unknown"},
		{hostname: "-dash", wantPod: "unknown"},
	} {
		t.Run(tc.hostname, func(t *testing.T) {
			got := xdsbootstrap.Source{
				Env:            func(string) string { return "" },
				NamespaceFile:  nsFile,
				Hostname:       func() (string, error) { return tc.hostname, nil },
				InterfaceAddrs: addrs(),
			}.Identity()
			assert.Equal(t, tc.wantPod, got.PodName, "Identity().PodName")
			assert.Equal(t, "default", got.Namespace, "Identity().Namespace with a bad namespace file")
			assert.NoError(t, got.Check(), "Identity().Check()")
		})
	}
}

func TestIdentityCheck(t *testing.T) {
	for _, tc := range []struct {
		name    string
		id      xdsbootstrap.Identity
		wantErr string
	}{
		{name: "valid", id: xdsbootstrap.Identity{PodName: "fe-0.x", Namespace: "game", IPs: []string{"10.0.0.9", "fd00::9"}}},
		{name: "tilde in pod name", id: xdsbootstrap.Identity{PodName: "a~b", Namespace: "game"}, wantErr: "pod name"},
		{name: "upper-case pod name", id: xdsbootstrap.Identity{PodName: "Fe", Namespace: "game"}, wantErr: "pod name"},
		{name: "empty pod name", id: xdsbootstrap.Identity{Namespace: "game"}, wantErr: "pod name"},
		{name: "dot in namespace", id: xdsbootstrap.Identity{PodName: "p", Namespace: "a.b"}, wantErr: "namespace"},
		{name: "long namespace", id: xdsbootstrap.Identity{PodName: "p", Namespace: strings.Repeat("n", 64)}, wantErr: "namespace"},
		{name: "bad ip", id: xdsbootstrap.Identity{PodName: "p", Namespace: "n", IPs: []string{"10.0.0.300"}}, wantErr: "pod ip"},
		{name: "ip with zone", id: xdsbootstrap.Identity{PodName: "p", Namespace: "n", IPs: []string{"fe80::1%eth0~x"}}, wantErr: "pod ip"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.id.Check()
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}
