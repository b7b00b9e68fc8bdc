//go:build istiod

package istiod

import "syscall"

// sysProcAttr makes the kernel kill istiod when the test process dies, so
// that no istiod outlives a crashed or killed test binary.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
