//go:build istiod

package istiod_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiod"
	"github.com/meshmatch/meshmatch/xds"
)

// doctorBin is examples/doctor, built once per test binary.
var doctorBin struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

func buildDoctor(t *testing.T) string {
	t.Helper()
	doctorBin.once.Do(func() {
		if doctorBin.dir, doctorBin.err = os.MkdirTemp("", "meshmatch-doctor-"); doctorBin.err != nil {
			return
		}
		doctorBin.path = filepath.Join(doctorBin.dir, "doctor")
		cmd := exec.Command("go", "build", "-o", doctorBin.path, "github.com/meshmatch/meshmatch/examples/doctor")
		doctorBin.out, doctorBin.err = cmd.CombinedOutput()
	})
	if doctorBin.err != nil {
		t.Fatalf("go build examples/doctor: %v\n%s", doctorBin.err, doctorBin.out)
	}
	return doctorBin.path
}

func removeDoctor() {
	if doctorBin.dir != "" {
		os.RemoveAll(doctorBin.dir)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

var predictionRE = regexp.MustCompile(`(?m)^auto would use: (\S+)`)

// doctorSays runs doctor in a pod named pod and returns the strategy it
// predicts, with its whole output.
func doctorSays(t *testing.T, ctx context.Context, pod string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, buildDoctor(t), args...)
	cmd.Env = []string{"POD_NAME=" + pod, "POD_NAMESPACE=" + namespace, "INSTANCE_IP=127.0.0.1", "HOME=" + t.TempDir()}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // the exit code is checked through the prediction
	m := predictionRE.FindStringSubmatch(out.String())
	if m == nil {
		t.Fatalf("doctor %q printed no prediction:\n%s", args, out.String())
	}
	return m[1], out.String()
}

// TestDoctorPredictsAuto: what examples/doctor predicts equals the strategy
// Auto, with the same chain and the same environment, ends up using.
func TestDoctorPredictsAuto(t *testing.T) {
	up := sharedIstiod(t)
	down := istiod.NewServer(t, istiod.Options{NoStart: true})
	for _, tc := range []struct {
		name     string
		srv      *istiod.Server
		register bool // whether istiod serves the service
	}{
		{name: "istiod serves the service", srv: up, register: true},
		{name: "istiod down", srv: down, register: true},
		{name: "istiod up without the service", srv: up, register: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			bs := balancertest.StartBackends(t, 2)
			svc := istiod.Service{Name: uniqueName("doctor"), Port: backendPort(bs), Endpoints: backendIPs(bs)}
			svc.Host = hostFor(svc.Name)
			if tc.register {
				setService(t, tc.srv, svc)
			}
			dns := dnstest.NewServer(t)
			dns.Set(svc.Host, backendIPs(bs)...)
			nothing, pod := closedAddr(t), uniqueName("doctor-pod")
			predicted, out := doctorSays(t, ctx, pod, "-addr", svc.Addr(), "-timeout", "5s", "-dns-server", dns.Addr(),
				"-sidecar-probe", nothing, "-sidecar-admin", nothing, "-istiod", tc.srv.XDSAddr())
			chain := []balancer.Strategy{
				sidecar(nothing, nothing, dns.Addr()),
				xds.Strategy{IstiodAddr: tc.srv.XDSAddr(), Env: podEnv(pod)},
				headless(dns.Addr(), 0),
			}
			c := newConn(t, svc.Addr(), omclient.WithStrategy(balancer.Auto{Strategies: chain}))
			if _, err := getTicket(ctx, omclient.NewFrontend(c)); err != nil {
				t.Fatalf("GetTicket() through Auto = %v", err)
			}
			d := c.Decision()
			t.Logf("doctor predicted %s; Auto uses %s (%s)", predicted, d.Strategy, d.Reason)
			if predicted != d.Strategy {
				t.Errorf("doctor predicted %q, Auto uses %q (%s); doctor's output:\n%s", predicted, d.Strategy, d.Reason, out)
			}
		})
	}
}
