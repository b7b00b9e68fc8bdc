//go:build integration

package integration

import "syscall"

// sysProcAttr makes the kernel kill a server when the test binary dies
// before its cleanups run (a panic or go test's timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
