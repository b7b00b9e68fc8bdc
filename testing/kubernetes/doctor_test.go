//go:build kubernetes

package kubernetes

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

var predictionRE = regexp.MustCompile(`(?m)^auto would use: (\S+)`)

// doctorSays builds examples/doctor and runs it as a pod of open-match
// with the namespace's resolv.conf (CoreDNS) and istiod at its cluster
// address, and returns the strategy it predicts and its output.
func doctorSays(t *testing.T, ctx context.Context, pod, addr string) (string, string) {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "doctor")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, "github.com/meshmatch/meshmatch/examples/doctor").CombinedOutput(); err != nil {
		t.Fatalf("go build examples/doctor: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "-addr", addr, "-timeout", "5s", "-istiod", kubetest.IstiodXDSAddr)
	cmd.Env = []string{"POD_NAME=" + pod, "POD_NAMESPACE=open-match", "INSTANCE_IP=" + clientPod.String(), "HOME=" + t.TempDir()}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // the exit code is checked through the prediction
	m := predictionRE.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("doctor printed no prediction:\n%s", out.String())
	}
	return m[1], out.String()
}

// TestDoctorOnCluster: examples/doctor, run as a pod of the cluster, says
// what Auto with the same chain then uses: xds while istiod serves the
// Service, headless through CoreDNS while istiod is down.
func TestDoctorOnCluster(t *testing.T) {
	c, d := istiodEnv(t)
	for _, tc := range []struct {
		name   string
		istiod bool
		want   string
	}{
		{"istiod serves the Service", true, "xds"},
		{"istiod down", false, "headless"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			if !tc.istiod {
				d.Kill()
				t.Cleanup(func() {
					ctx, cancel := context.WithTimeout(context.Background(), kubetest.StartTimeout)
					defer cancel()
					if err := d.Start(ctx); err != nil {
						t.Errorf("restart istiod: %v", err)
					}
				})
			}
			bs := balancertest.StartBackendsAt(t, podHosts(2))
			s := newService(t, c, true, bs)
			waitAnswer(t, ctx, shared.dns.Addr(), s.Host())
			predicted, out := doctorSays(t, ctx, "doctor", s.Addr())
			conn := balancertest.Dial(t, autoChain("doctor"), s.Addr())
			if _, err := calltest.GetTicket(ctx, conn); err != nil {
				t.Fatalf("GetTicket through Auto: %v", err)
			}
			got := strategyOf(conn)
			t.Logf("doctor predicted %s, Auto uses %s; doctor said:\n%s", predicted, got, out)
			if predicted != tc.want || got != tc.want {
				t.Errorf("doctor predicted %q and Auto uses %q, want %q for both", predicted, got, tc.want)
			}
		})
	}
}
