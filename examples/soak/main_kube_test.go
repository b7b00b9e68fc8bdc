//go:build kubernetes

package main

import (
	"os"
	"testing"

	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// TestMain runs the test binary as a match function replica when the soak
// starts it as one; otherwise it runs the tests in the network namespace
// of the test cluster (pod addresses on lo), checking for leaks.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == roleMMF {
		os.Exit(runMMF(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(kubetest.Main(kubetest.LeakChecked(m, nil)))
}
