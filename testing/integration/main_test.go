//go:build integration

package integration

import (
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testTimeout bounds every wait of a test.
const testTimeout = 20 * time.Second

// testRefresh is the re-resolution interval of the DNS strategies.
const testRefresh = 50 * time.Millisecond

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// stopGrace is how long a server gets to exit after SIGTERM before it is
// killed.
const stopGrace = 5 * time.Second

// debianBinary is a binary that a Debian package installs in dir, found
// there or in PATH.
func debianBinary(name, dir, debianPackage string) proctest.Binary {
	return proctest.Binary{Name: name, Paths: []string{dir}, Hint: "install Debian package " + debianPackage}
}

// startServer starts a server for test t (see proctest.StartT).
func startServer(t testing.TB, path string, args ...string) *proctest.Process {
	t.Helper()
	return proctest.StartT(t, proctest.Config{Path: path, Args: args, StopGrace: stopGrace})
}

// lostPortRace reports whether p exited because another process took the
// free port picked for it before it could bind it.
func lostPortRace(p *proctest.Process) bool {
	return p != nil && !p.Running() && strings.Contains(p.Tail(0), "Address already in use")
}
