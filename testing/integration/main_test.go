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

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

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
