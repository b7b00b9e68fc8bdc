//go:build istiod

package istiod

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// Environment variables that tell the tests where istiod is and whether a
// missing one is a failure.
const (
	// EnvBinary names the pilot-discovery binary (what .ci/istiod.sh prints).
	EnvBinary = "MESHMATCH_ISTIOD"
	// EnvRequired, when set to a non-empty value, turns a missing binary into
	// a test failure instead of a skip (CI sets it).
	EnvRequired = "MESHMATCH_INTEGRATION_REQUIRED"
)

// errNoBinary says why the binary cannot be used.
var errNoBinary = errors.New("istiod: no pilot-discovery binary")

// BinaryPath returns the pilot-discovery binary named by EnvBinary, or an
// error that says how to get one.
func BinaryPath() (string, error) {
	p := os.Getenv(EnvBinary)
	if p == "" {
		return "", fmt.Errorf("%w: %s is not set; build or reuse it with %s=$(.ci/istiod.sh)", errNoBinary, EnvBinary, EnvBinary)
	}
	if _, err := exec.LookPath(p); err != nil {
		return "", fmt.Errorf("%w: %s=%s: %w; build it with .ci/istiod.sh", errNoBinary, EnvBinary, p, err)
	}
	return p, nil
}

// RequireBinary returns the binary's path. When there is none it skips t, or
// fails it when EnvRequired is set.
func RequireBinary(t testing.TB) string {
	t.Helper()
	p, err := BinaryPath()
	if err == nil {
		return p
	}
	if os.Getenv(EnvRequired) != "" {
		t.Fatalf("%v (and %s is set, so this is a failure)", err, EnvRequired)
	}
	t.Skipf("%v (set %s=1 to make this a failure)", err, EnvRequired)
	return ""
}
