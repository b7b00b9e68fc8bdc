//go:build istiod

package istiod

import (
	"testing"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

// Environment variables that tell the tests where istiod is and whether a
// missing one is a failure.
const (
	// EnvBinary names the pilot-discovery binary (what .ci/istiod.sh prints).
	EnvBinary = "MESHMATCH_ISTIOD"
	// EnvRequired, when set to a non-empty value, turns a missing binary into
	// a test failure instead of a skip (CI sets it).
	EnvRequired = proctest.EnvRequired
)

// binary is the pilot-discovery binary the tests run.
var binary = proctest.Binary{
	Name: "pilot-discovery",
	Env:  EnvBinary,
	Hint: "build or reuse it with " + EnvBinary + "=$(.ci/istiod.sh)",
}

// BinaryPath returns the pilot-discovery binary named by EnvBinary, or an
// error wrapping proctest.ErrNoBinary that says how to get one.
func BinaryPath() (string, error) { return binary.Path() }

// RequireBinary returns the binary's path. When there is none it skips t, or
// fails it when EnvRequired is set.
func RequireBinary(t testing.TB) string {
	t.Helper()
	return binary.Require(t)
}
