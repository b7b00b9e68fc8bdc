package dnsresolver

import (
	"os"
	"path/filepath"
	"testing"
)

func TestAbsoluter(t *testing.T) {
	conf := filepath.Join(t.TempDir(), "resolv.conf")
	pod := "nameserver 10.96.0.10\nsearch open-match.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n"
	if err := os.WriteFile(conf, []byte(pod), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path, host, want string
	}{
		{path: conf, host: "om-frontend.open-match.svc.cluster.local", want: "om-frontend.open-match.svc.cluster.local."},
		{path: conf, host: "OM-Frontend.Open-Match.SVC.Cluster.Local", want: "OM-Frontend.Open-Match.SVC.Cluster.Local."},
		{path: conf, host: "om-frontend.open-match.svc.cluster.local.", want: "om-frontend.open-match.svc.cluster.local."},
		{path: conf, host: "om-frontend", want: "om-frontend"},
		{path: conf, host: "om-frontend.open-match", want: "om-frontend.open-match"},
		{path: conf, host: "om-frontend.open-match.svc", want: "om-frontend.open-match.svc"},
		{path: conf, host: "cluster.local", want: "cluster.local"},
		{path: conf, host: "backends.meshmatch.test", want: "backends.meshmatch.test"},
		{path: filepath.Join(t.TempDir(), "missing"), host: "a.svc.cluster.local", want: "a.svc.cluster.local"},
	} {
		if got := absoluter(tc.path)(tc.host); got != tc.want {
			t.Errorf("absoluter(%s)(%q) = %q, want %q", filepath.Base(tc.path), tc.host, got, tc.want)
		}
	}
}
