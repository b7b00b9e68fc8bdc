package proctest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func sh(script string) Config {
	return Config{Name: "sh", Path: "/bin/sh", Args: []string{"-c", script}}
}

func TestWaitLineSeesLaterOutput(t *testing.T) {
	p := StartT(t, sh(`echo one; read x; echo two; echo ready now; sleep 60`))
	ctx := testContext(t)
	i, _, err := p.WaitLine(ctx, 0, "one")
	if err != nil || i != 0 {
		t.Fatalf("WaitLine(one) = %d, %v", i, err)
	}
	// "ready" is not printed until stdin is read, which never happens here
	// (stdin is /dev/null, so read returns at once): wait for it by event.
	i, line, err := p.WaitLine(ctx, 1, "ready")
	if err != nil {
		t.Fatal(err)
	}
	if i != 2 || line != "ready now" {
		t.Errorf("WaitLine(ready) = %d %q, want 2 \"ready now\"", i, line)
	}
	if n := p.Lines(); n != 3 {
		t.Errorf("Lines() = %d, want 3", n)
	}
	if _, err := p.WaitLines(ctx, 0, 2, "o"); err != nil {
		t.Errorf("WaitLines(2, o): %v", err)
	}
}

func TestWaitLineFailsWhenProcessExits(t *testing.T) {
	p := StartT(t, sh(`echo bye; exit 3`))
	_, _, err := p.WaitLine(testContext(t), 0, "never printed")
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "exit status 3") || !strings.Contains(err.Error(), "bye") {
		t.Fatalf("WaitLine after exit: %v, want an error naming the exit status and the output", err)
	}
	if p.Running() || p.Err() == nil {
		t.Errorf("Running() = %v, Err() = %v after exit 3", p.Running(), p.Err())
	}
}

func TestWaitLineFailsWhenContextEnds(t *testing.T) {
	p := StartT(t, sh(`echo started; sleep 60`))
	ctx, cancel := context.WithCancel(testContext(t))
	if _, _, err := p.WaitLine(ctx, 0, "started"); err != nil {
		t.Fatal(err)
	}
	cancel()
	_, _, err := p.WaitLine(ctx, 1, "never")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WaitLine with a cancelled context: %v", err)
	}
}

func TestStopKillsAProcessThatIgnoresSIGTERM(t *testing.T) {
	cfg := sh(`trap '' TERM; echo trapped; while :; do sleep 1; done`)
	cfg.StopGrace = 50 * time.Millisecond
	p := StartT(t, cfg)
	if _, _, err := p.WaitLine(testContext(t), 0, "trapped"); err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if p.Running() {
		t.Fatal("still running after Stop")
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("exit error %v, want killed", err)
	}
	p.Stop() // stopping a stopped process is a no-op
	if err := p.Signal(nil); err == nil {
		t.Error("Signal after exit: no error")
	}
}

func TestWaitReady(t *testing.T) {
	p := StartT(t, sh(`sleep 60`))
	n := 0
	err := p.WaitReady(testContext(t), time.Millisecond, func(context.Context) error {
		if n++; n < 3 {
			return errors.New("not yet")
		}
		return nil
	})
	if err != nil || n != 3 {
		t.Fatalf("WaitReady = %v after %d checks, want nil after 3", err, n)
	}
	p.Kill()
	err = p.WaitReady(testContext(t), time.Millisecond, func(context.Context) error { return errors.New("down") })
	if err == nil || !strings.Contains(err.Error(), "exited") || !strings.Contains(err.Error(), "down") {
		t.Fatalf("WaitReady after exit: %v", err)
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(Config{}); err == nil {
		t.Error("Start with no path: no error")
	}
	_, err := Start(Config{Path: "/nonexistent/server"})
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/server") && !strings.Contains(err.Error(), "server") {
		t.Errorf("Start of a missing binary: %v", err)
	}
}

func TestBinaryPath(t *testing.T) {
	t.Setenv("PROCTEST_BIN", "")
	for _, tc := range []struct {
		name string
		b    Binary
		env  string
		want string // substring of the error; "" means success
	}{
		{"env unset", Binary{Name: "x", Env: "PROCTEST_BIN", Hint: "build it with make x"}, "", "PROCTEST_BIN is not set; build it with make x"},
		{"env names nothing", Binary{Name: "x", Env: "PROCTEST_BIN", Hint: "h"}, "/nonexistent/x", "PROCTEST_BIN=/nonexistent/x"},
		{"not in PATH", Binary{Name: "no-such-binary-here", Hint: "install Debian package y"}, "", "no-such-binary-here not found in PATH; install Debian package y"},
		{"wrong version", Binary{Name: "sh", Env: "PROCTEST_BIN", VersionArgs: []string{"-c", "echo thing v1.0.0"}, Version: "v2.0.0", Hint: "rebuild"}, "/bin/sh", `is not sh v2.0.0 (it says "thing v1.0.0"); rebuild`},
		{"version fails", Binary{Name: "sh", Env: "PROCTEST_BIN", VersionArgs: []string{"-c", "exit 1"}, Version: "v1", Hint: "rebuild"}, "/bin/sh", "exit status 1"},
		{"right version", Binary{Name: "sh", Env: "PROCTEST_BIN", VersionArgs: []string{"-c", "echo thing v2.0.0"}, Version: "v2.0.0"}, "/bin/sh", ""},
		{"PATH fallback", Binary{Name: "sh", Env: "PROCTEST_BIN", LookPath: true}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("PROCTEST_BIN", tc.env)
			p, err := tc.b.Path()
			if tc.want == "" {
				if err != nil || p == "" {
					t.Fatalf("Path() = %q, %v", p, err)
				}
				return
			}
			if !errors.Is(err, ErrNoBinary) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Path() error %v, want ErrNoBinary containing %q", err, tc.want)
			}
		})
	}
}
