package proctest

import (
	"os"
	"syscall"
)

// sysProcAttr puts the child in its own process group, so Kill reaches the
// children it starts, and makes the kernel kill it when the test binary dies
// before its cleanups run (a panic, or go test's timeout).
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

func killGroup(p *os.Process) {
	if syscall.Kill(-p.Pid, syscall.SIGKILL) != nil {
		_ = p.Kill()
	}
}
