//go:build !kubernetes

package main

import (
	"os"
	"testing"

	"go.uber.org/goleak"
)

// TestMain runs the test binary as a match function replica when the soak
// starts it as one (the replicas are this executable again), and checks
// for leaked goroutines otherwise.
func TestMain(m *testing.M) {
	if os.Getenv(roleEnv) == roleMMF {
		os.Exit(runMMF(os.Args[1:], os.Stdout, os.Stderr))
	}
	goleak.VerifyTestMain(m)
}
