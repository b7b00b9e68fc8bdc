package xds_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

// FuzzStrategyEnv feeds the strategy arbitrary bootstrap and pod identity
// environment values. Detect must return by its context's deadline with a
// reason, never panic, and agree with Dial: a strategy Detect reports
// available dials without error, and a bootstrap given in the environment
// that Detect rejects is rejected by Dial too. No network is used:
// KUBERNETES_SERVICE_HOST is unset and IstiodAddr is not set, so istiod is
// never probed, and Dial does no I/O.
func FuzzStrategyEnv(f *testing.F) {
	good := `{"xds_servers":[{"server_uri":"127.0.0.1:1","channel_creds":[{"type":"insecure"}]}],"node":{"id":"` + xdstest.DefaultNodeID + `"}}`
	f.Add(good, "frontend-0", "game", "127.0.0.1", false)
	f.Add(good, "", "", "", true)
	f.Add(`{"xds_servers":[{"server_uri":"127.0.0.1:1","channel_creds":[{"type":"kerberos"}]}]}`, "", "", "", false)
	f.Add(`{"xds_servers":[{"server_uri":"127.0.0.1:1"}]}`, "a~b", "c.d", "300.1.1.1", false)
	f.Add(`{"xds_servers": [`, "p", "n", "::1", true)
	f.Add("", "p", "n", "fe80::1%eth0", false)
	f.Add("", "", "", "", false)
	f.Fuzz(func(t *testing.T, config, podName, namespace, ip string, asFile bool) {
		env := map[string]string{"POD_NAME": podName, "POD_NAMESPACE": namespace, "INSTANCE_IP": ip}
		if asFile {
			path := filepath.Join(t.TempDir(), "bootstrap.json")
			if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
				t.Fatal(err)
			}
			env[xdsbootstrap.EnvFile] = path
		} else {
			env[xdsbootstrap.EnvConfig] = config
		}
		s := xds.Strategy{Env: envOf(env), BootstrapWait: 10 * time.Millisecond, CertDir: t.TempDir()}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		d := s.Detect(ctx, svcAddr)
		if ctx.Err() != nil {
			t.Fatalf("Detect returned after its context ended: %+v", d)
		}
		if d.Strategy != "xds" || d.Reason == "" || d.At.IsZero() {
			t.Fatalf("Detect() = %+v, want strategy xds with a reason and a time", d)
		}
		conn, err := s.Dial(svcAddr)
		if err == nil {
			conn.Close()
		}
		if d.Available && err != nil {
			t.Fatalf("Detect() available (%s) but Dial() = %v", d.Reason, err)
		}
		inEnv := !asFile && config != ""
		if inEnv && !d.Available && err == nil {
			t.Fatalf("Detect() unavailable (%s) but Dial() accepted %s=%q", d.Reason, xdsbootstrap.EnvConfig, config)
		}
		if err != nil && !strings.HasPrefix(err.Error(), "xds: dial ") {
			t.Fatalf("Dial() error %q lacks the \"xds: dial \" prefix", err)
		}
		if !inEnv && !asFile && d.Available {
			t.Fatalf("Detect() = available (%s) with no bootstrap and outside a pod", d.Reason)
		}
	})
}
