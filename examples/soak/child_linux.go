package main

import "syscall"

// childAttr makes a match function replica die with the soak, whatever
// ends it (a SIGKILL included), so that no replica outlives its run.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
