package kubetest

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

// Environment variables between Main and the re-executed test binary.
const (
	envInside = "MESHMATCH_KUBETEST_NETNS" // set in the re-executed binary
	envNoNS   = "MESHMATCH_KUBETEST_NO_NETNS"
)

// Pod and service addresses inside the namespace.
var (
	// DNSAddr is the cluster DNS Service address (kube-dns), where
	// CoreDNS listens on port 53 and /etc/resolv.conf points.
	DNSAddr = netip.MustParseAddr("10.96.0.10")
	// podBase is the first pod address, 10.244.0.1; PodAddr(i) counts up
	// from it.
	podBase = netip.MustParseAddr("10.244.0.1")
)

// Pods is how many pod addresses Main puts on lo.
const Pods = 16

// PodAddr returns the address of pod i (0-based): 10.244.0.(i+1). It panics
// for i outside [0, Pods).
func PodAddr(i int) netip.Addr {
	if i < 0 || i >= Pods {
		panic(fmt.Sprintf("kubetest: pod %d outside [0, %d)", i, Pods))
	}
	a := podBase
	for range i {
		a = a.Next()
	}
	return a
}

// SearchPath is the DNS search path of a pod in namespace open-match.
const SearchPath = "open-match.svc.cluster.local svc.cluster.local cluster.local"

// Main is TestMain for a package whose tests need the cluster's network: it
// re-executes the test binary in a new network and mount namespace and
// returns its exit code. In the re-executed binary (or when the namespace
// cannot be made) it runs m (a *testing.M, or a wrapper that checks for
// leaks after m.Run). Tests call RequireNetwork first.
func Main(m interface{ Run() int }) int {
	if os.Getenv(envInside) != "" {
		if err := setUpNamespace(); err != nil {
			fmt.Fprintf(os.Stderr, "kubetest: set up the network namespace: %v\n", err)
			return 1
		}
		return m.Run()
	}
	if reason := cannotUnshare(); reason != "" {
		os.Setenv(envNoNS, reason)
		return m.Run()
	}
	cmd := exec.Command("unshare", append([]string{"--net", "--mount", "--", os.Args[0]}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), envInside+"=1")
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return exit.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "kubetest: re-execute the tests under unshare: %v\n", err)
		return 1
	}
	return 0
}

// cannotUnshare says why the tests cannot have a namespace of their own, or
// returns "".
func cannotUnshare() string {
	if os.Geteuid() != 0 {
		return "the Kubernetes tests need root to create a network namespace (unshare -n) for pod addresses, and run as uid " + fmt.Sprint(os.Geteuid())
	}
	for _, tool := range []string{"unshare", "ip", "mount"} {
		if _, err := lookTool(tool); err != nil {
			return fmt.Sprintf("the Kubernetes tests need %s (util-linux, iproute2): %v", tool, err)
		}
	}
	if out, err := exec.Command("unshare", "--net", "--mount", "true").CombinedOutput(); err != nil {
		return fmt.Sprintf("unshare --net --mount fails here: %v: %s", err, strings.TrimSpace(string(out)))
	}
	return ""
}

func lookTool(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	return exec.LookPath("/usr/sbin/" + name)
}

// setUpNamespace runs in the new namespace: lo up with the pod and DNS
// addresses, and a resolv.conf of a pod.
func setUpNamespace() error {
	ip, err := lookTool("ip")
	if err != nil {
		return err
	}
	cmds := [][]string{{ip, "link", "set", "lo", "up"}, {ip, "addr", "add", DNSAddr.String() + "/32", "dev", "lo"}}
	for i := range Pods {
		cmds = append(cmds, []string{ip, "addr", "add", PodAddr(i).String() + "/32", "dev", "lo"})
	}
	dir, err := os.MkdirTemp("", "meshmatch-netns-")
	if err != nil {
		return err
	}
	conf := dir + "/resolv.conf"
	body := fmt.Sprintf("nameserver %s\nsearch %s\noptions ndots:5\n", DNSAddr, SearchPath)
	if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
		return err
	}
	cmds = append(cmds, []string{"mount", "--bind", conf, "/etc/resolv.conf"})
	for _, c := range cmds {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			return fmt.Errorf("%s: %v: %s", strings.Join(c, " "), err, out)
		}
	}
	return nil
}

// RequireNetwork skips t (or fails it when MESHMATCH_INTEGRATION_REQUIRED is
// set) unless the test runs inside the namespace Main made.
func RequireNetwork(t testing.TB) {
	t.Helper()
	if os.Getenv(envInside) != "" {
		return
	}
	reason := os.Getenv(envNoNS)
	if reason == "" {
		reason = "the test binary was not started through kubetest.Main (TestMain)"
	}
	skipOrFail(t, reason)
}

func skipOrFail(t testing.TB, reason string) {
	t.Helper()
	proctest.SkipOrFail(t, reason)
}
