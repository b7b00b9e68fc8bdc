package kubetest

import (
	"fmt"
	"os"

	"go.uber.org/goleak"
)

// LeakChecked wraps m for Main (or for a TestMain of its own): it runs the
// tests, then cleanup when set (to stop a control plane the tests share),
// and, when the tests passed, fails the run if goroutines leaked.
func LeakChecked(m interface{ Run() int }, cleanup func()) interface{ Run() int } {
	return leakChecked{m: m, cleanup: cleanup}
}

type leakChecked struct {
	m       interface{ Run() int }
	cleanup func()
}

func (l leakChecked) Run() int {
	code := l.m.Run()
	if l.cleanup != nil {
		l.cleanup()
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintf(os.Stderr, "goleak: %v\n", err)
			return 1
		}
	}
	return code
}
