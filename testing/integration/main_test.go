//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(settled{m}) }

// settled runs the tests, then gives goroutines that end by themselves up to
// settleTimeout to do so before goleak looks. A DNS lookup that a Headless
// connection had in flight when it was closed keeps a goroutine of package
// net until the query's own timeout (net ignores cancellation while it waits
// for the UDP answer), and that answer never comes when the test's dnsmasq
// was stopped in the meantime. A goroutine that is still there afterwards
// is reported as a leak.
type settled struct{ m *testing.M }

// settleTimeout exceeds the 5 s timeout of one DNS query.
const settleTimeout = 10 * time.Second

func (s settled) Run() int {
	code := s.m.Run()
	deadline := time.Now().Add(settleTimeout)
	for goleak.Find() != nil && time.Now().Before(deadline) {
		// goleak.Find itself retries for about a second before it reports.
	}
	return code
}

// envRequired, when set, turns a missing server binary into a failure.
const envRequired = "MESHMATCH_INTEGRATION_REQUIRED"

// testTimeout bounds every wait of a test.
const testTimeout = 20 * time.Second

// testRefresh is the re-resolution interval of the DNS strategies.
const testRefresh = 50 * time.Millisecond

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// requireBinary returns the path of a server binary: path itself, or its
// base name looked up in PATH. When neither exists it skips t, or fails it
// when envRequired is set.
func requireBinary(t testing.TB, path, debianPackage string) string {
	t.Helper()
	if p, err := exec.LookPath(path); err == nil {
		return p
	}
	if p, err := exec.LookPath(filepath.Base(path)); err == nil {
		return p
	}
	if os.Getenv(envRequired) != "" {
		t.Fatalf("%s not found and %s is set: install Debian package %s", path, envRequired, debianPackage)
	}
	t.Skipf("%s not found: install Debian package %s to run this test (set %s=1 to make this a failure)", path, debianPackage, envRequired)
	return ""
}
