//go:build kubernetes

package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// TestMain runs the test binary as a match function replica when the soak
// starts it as one; otherwise it runs the tests in the network namespace
// of the test cluster (pod addresses on lo), checking for leaks.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == roleMMF {
		os.Exit(runMMF(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(kubetest.Main(leakChecked{m}))
}

type leakChecked struct{ m *testing.M }

func (l leakChecked) Run() int {
	code := l.m.Run()
	if code == 0 {
		if err := goleak.Find(); err != nil {
			os.Stderr.WriteString("goleak: " + err.Error() + "\n")
			return 1
		}
	}
	return code
}
