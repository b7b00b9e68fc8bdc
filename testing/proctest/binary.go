package proctest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// EnvRequired, when set to a non-empty value, turns a missing or wrong
// binary into a test failure instead of a skip. CI sets it.
const EnvRequired = "MESHMATCH_INTEGRATION_REQUIRED"

// ErrNoBinary is wrapped by Binary.Path's error when the binary is missing or
// not the version the tests are pinned to.
var ErrNoBinary = errors.New("no usable binary")

// Binary says where tests find a real binary, which version it must be, and
// how to get it.
type Binary struct {
	// Name is the binary's base name ("nginx", "kube-apiserver").
	Name string
	// Env is the environment variable that names its path. When empty, or
	// when unset and LookPath is true, Name is looked up in PATH.
	Env string
	// LookPath allows the PATH look-up when Env is set but empty.
	LookPath bool
	// Paths are further places to try after Env and PATH (e.g. /usr/sbin).
	Paths []string
	// VersionArgs, when set, run the binary (e.g. "--version"); its output
	// must contain Version.
	VersionArgs []string
	Version     string
	// Hint says how to get the binary ("build it with .ci/controlplane.sh
	// etcd", "install Debian package nginx-light").
	Hint string
}

// Path returns the binary's path, or an error wrapping ErrNoBinary that says
// what is wrong and how to fix it.
func (b Binary) Path() (string, error) {
	p, err := b.find()
	if err != nil {
		return "", err
	}
	if len(b.VersionArgs) == 0 {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, p, b.VersionArgs...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("%w: %s %s: %v: %.300s; %s", ErrNoBinary, p, strings.Join(b.VersionArgs, " "), err, out, b.Hint)
	}
	if !strings.Contains(string(out), b.Version) {
		return "", fmt.Errorf("%w: %s is not %s %s (it says %q); %s", ErrNoBinary, p, b.Name, b.Version, strings.TrimSpace(firstLine(string(out))), b.Hint)
	}
	return p, nil
}

func (b Binary) find() (string, error) {
	if b.Env != "" {
		if p := os.Getenv(b.Env); p != "" {
			if _, err := exec.LookPath(p); err != nil {
				return "", fmt.Errorf("%w: %s=%s: %w; %s", ErrNoBinary, b.Env, p, err, b.Hint)
			}
			return p, nil
		}
		if !b.LookPath {
			return "", fmt.Errorf("%w: %s is not set; %s", ErrNoBinary, b.Env, b.Hint)
		}
	}
	if p, err := exec.LookPath(b.Name); err == nil {
		return p, nil
	}
	for _, dir := range b.Paths {
		if p, err := exec.LookPath(dir + "/" + b.Name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: %s not found in PATH; %s", ErrNoBinary, b.Name, b.Hint)
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Require returns the binary's path. When it has none it skips t with the
// reason, or fails t when EnvRequired is set.
func (b Binary) Require(t testing.TB) string {
	t.Helper()
	p, err := b.Path()
	if err == nil {
		return p
	}
	SkipOrFail(t, err.Error())
	return ""
}

// SkipOrFail skips t with reason, or fails it when EnvRequired is set: a
// test that cannot run where CI runs it is a failure, not a pass.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(EnvRequired) != "" {
		t.Fatalf("%s (and %s is set, so this is a failure)", reason, EnvRequired)
	}
	t.Skipf("%s (set %s=1 to make this a failure)", reason, EnvRequired)
}
