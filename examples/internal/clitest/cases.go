package clitest

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// Case is one command line and what the command must answer.
type Case struct {
	Name   string
	Args   []string
	Code   int    // wanted exit code
	Stderr string // wanted in stderr
}

// RunFunc is an example command's run function.
type RunFunc func(ctx context.Context, args []string, stdout, stderr io.Writer) int

// RunCases runs each case under a 10 s deadline and checks its exit code and
// error message.
func RunCases(t *testing.T, run RunFunc, cases []Case) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stdout, stderr Output
			code := run(ctx, tc.Args, &stdout, &stderr)
			if code != tc.Code {
				t.Errorf("run(%q) = %d, want %d; stderr:\n%s", tc.Args, code, tc.Code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tc.Stderr) {
				t.Errorf("run(%q) stderr = %q, want it to contain %q", tc.Args, stderr.String(), tc.Stderr)
			}
		})
	}
}
