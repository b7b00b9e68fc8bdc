package cli

import (
	"bytes"
	"errors"
	"flag"
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name    string
		args    []string
		wantErr string
		usage   bool
	}{
		{name: "defaults", args: nil},
		{name: "listen any host", args: []string{"-listen", ":0"}},
		{name: "listen bad port", args: []string{"-listen", ":99999"}, wantErr: "-listen: invalid address", usage: true},
		{name: "addr without port", args: []string{"-addr", "host"}, wantErr: "-addr: invalid address", usage: true},
		{name: "addr port 0", args: []string{"-addr", "host:0"}, wantErr: "-addr: invalid address", usage: true},
		{name: "negative n", args: []string{"-n", "-1"}, wantErr: "-n must be positive, got -1", usage: true},
		{name: "negative f", args: []string{"-f", "-0.5"}, wantErr: "-f must not be negative, got -0.5", usage: true},
		{name: "positional", args: []string{"x"}, wantErr: `unexpected arguments ["x"]`, usage: true},
		{name: "unknown flag", args: []string{"-x"}, wantErr: "flag provided but not defined", usage: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			fs := NewFlagSet("test", &stderr)
			listen := fs.String("listen", ":50502", "")
			addr := fs.String("addr", "127.0.0.1:1", "")
			n := fs.Int("n", 1, "")
			f := fs.Float64("f", 0, "")
			err := Parse(fs, tc.args, ListenAddr("listen", listen), Addr("addr", addr), Positive("n", n), NonNegative("f", f))
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
			var usage UsageError
			assert.Equal(t, tc.usage, errors.As(err, &usage), "Parse(%q) error %v is a UsageError", tc.args, err)
		})
	}
}

func TestExit(t *testing.T) {
	for _, tc := range []struct {
		name       string
		err        error
		wantCode   int
		wantStderr string
	}{
		{name: "ok", err: nil, wantCode: ExitOK},
		{name: "help", err: flag.ErrHelp, wantCode: ExitUsage},
		{name: "usage", err: Usagef("-n must be positive"), wantCode: ExitUsage, wantStderr: "prog: -n must be positive\n"},
		{name: "failure", err: errors.New("boom"), wantCode: ExitFailure, wantStderr: "prog: boom\n"},
		{name: "already prefixed", err: errors.New("prog: boom"), wantCode: ExitFailure, wantStderr: "prog: boom\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			assert.Equal(t, tc.wantCode, Exit(&stderr, "prog", tc.err))
			assert.Equal(t, tc.wantStderr, stderr.String())
		})
	}
}

func TestOpenMatch(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		frontend, backend, query string
		want                     bool
		wantErr                  string
	}{
		{name: "none"},
		{name: "all", frontend: "om-frontend:50504", backend: "om-backend:50505", query: "om-query:50503", want: true},
		{name: "one", frontend: "om-frontend:50504", wantErr: "set all of -frontend, -backend and -query"},
		{name: "two", backend: "om-backend:50505", query: "om-query:50503", wantErr: "set all of -frontend, -backend and -query"},
		{name: "bad backend", frontend: "om-frontend:50504", backend: "om-backend", query: "om-query:50503", want: true, wantErr: "-backend: invalid address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := OpenMatch(tc.frontend, tc.backend, tc.query)
			assert.Equal(t, tc.want, got, "OpenMatch(%q, %q, %q) set", tc.frontend, tc.backend, tc.query)
			if tc.wantErr == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorContains(t, err, tc.wantErr)
		})
	}
}
