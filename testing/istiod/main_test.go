//go:build istiod

package istiod_test

import (
	"context"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/istiod"
)

// TestMain closes the package's shared istiod and removes the doctor
// binary before checking for leaked goroutines.
func TestMain(m *testing.M) {
	code := m.Run()
	closeShared()
	removeDoctor()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testTimeout bounds every wait of a test. It is longer than the usual 10 s
// because real istiod pushes a change about a second after the file changes
// and grpc-go's xDS client takes several seconds to reconnect to a restarted
// istiod.
const testTimeout = 30 * time.Second

func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// shared is the istiod that the tests of this package share; tests that
// stop istiod start their own.
var shared struct {
	once sync.Once
	srv  *istiod.Server
	err  error
}

// sharedIstiod returns the package's istiod, starting it on first use. A
// missing binary skips or fails t (see istiod.RequireBinary).
func sharedIstiod(t testing.TB) *istiod.Server {
	t.Helper()
	bin := istiod.RequireBinary(t)
	shared.once.Do(func() {
		shared.srv, shared.err = istiod.New(bin)
		if shared.err != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), istiod.StartTimeout)
		defer cancel()
		shared.err = shared.srv.Start(ctx)
	})
	if shared.err != nil {
		t.Fatalf("shared istiod: %v", shared.err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("shared istiod output (last lines):\n%s", shared.srv.LogTail(40))
		}
	})
	return shared.srv
}

func closeShared() {
	if shared.srv != nil {
		shared.srv.Close()
	}
}
