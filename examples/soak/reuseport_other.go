//go:build !unix

package main

import (
	"errors"
	"syscall"
)

func reusePort(_, _ string, _ syscall.RawConn) error {
	return errors.New("sharing a port between match function replicas (SO_REUSEPORT) needs a Unix system")
}
