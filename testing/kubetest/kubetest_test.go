package kubetest

import (
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/proctest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestBinaryErrorsSayHowToBuild: a control-plane binary that is missing or
// of another version is refused with what is wrong and the command that
// builds the pinned one.
func TestBinaryErrorsSayHowToBuild(t *testing.T) {
	for _, b := range []proctest.Binary{EtcdBinary, KubeAPIServerBinary, CoreDNSBinary, IstiodBinary} {
		t.Run(b.Name, func(t *testing.T) {
			t.Setenv(b.Env, "")
			_, err := b.Path()
			if !errors.Is(err, proctest.ErrNoBinary) || !strings.Contains(err.Error(), b.Env+" is not set") || !strings.Contains(err.Error(), ".ci/") {
				t.Errorf("unset %s: %v, want an error naming it and the .ci script", b.Env, err)
			}
			// /bin/true prints nothing for the version flag: not the pin.
			t.Setenv(b.Env, "/bin/true")
			_, err = b.Path()
			if !errors.Is(err, proctest.ErrNoBinary) || !strings.Contains(err.Error(), b.Version) || !strings.Contains(err.Error(), ".ci/") {
				t.Errorf("%s=/bin/true: %v, want an error naming version %s and the .ci script", b.Env, err, b.Version)
			}
		})
	}
}

func TestSplitDocuments(t *testing.T) {
	in := "# header\n---\na: 1\n--- # next\nb: 2\n---\n# only a comment\n---\n\nc: 3\n"
	docs := splitDocuments([]byte(in))
	var got []string
	for _, d := range docs {
		got = append(got, strings.TrimSpace(string(d)))
	}
	want := []string{"a: 1", "b: 2", "c: 3"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("splitDocuments = %q, want %q", got, want)
	}
}

func TestPodAddr(t *testing.T) {
	if got := PodAddr(0).String(); got != "10.244.0.1" {
		t.Errorf("PodAddr(0) = %s", got)
	}
	if got := PodAddr(Pods - 1).String(); got != "10.244.0.16" {
		t.Errorf("PodAddr(%d) = %s", Pods-1, got)
	}
	defer func() {
		if recover() == nil {
			t.Error("PodAddr(Pods) did not panic")
		}
	}()
	PodAddr(Pods)
}

// TestRequireNetworkOutsideNamespace: a test not started through Main is
// skipped with the reason (or failed under MESHMATCH_INTEGRATION_REQUIRED).
func TestRequireNetworkOutsideNamespace(t *testing.T) {
	t.Setenv(proctest.EnvRequired, "")
	t.Setenv(envInside, "")
	skipped := false
	t.Run("skips", func(t *testing.T) {
		defer func() { skipped = t.Skipped() }()
		RequireNetwork(t)
		t.Error("RequireNetwork returned outside the namespace")
	})
	if !skipped {
		t.Fatal("RequireNetwork did not skip outside the namespace")
	}
}
