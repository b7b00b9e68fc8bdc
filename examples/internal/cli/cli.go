// Package cli holds what the example commands share: flag checks, exit
// codes, the signal context and serving a Server until the context ends.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"github.com/meshmatch/meshmatch/internal/dnsresolver"
)

// Exit codes of the example commands.
const (
	ExitOK      = 0
	ExitFailure = 1 // the command ran and failed
	ExitUsage   = 2 // bad flags
)

// SignalContext returns a context cancelled on SIGINT or SIGTERM.
func SignalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// UsageError marks an error in the command line.
type UsageError struct{ Err error }

func (e UsageError) Error() string { return e.Err.Error() }
func (e UsageError) Unwrap() error { return e.Err }

// Usagef returns a UsageError.
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// NewFlagSet returns a flag set that prints its errors and usage to stderr
// and returns errors instead of exiting.
func NewFlagSet(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// Parse parses args into fs, rejects positional arguments, and then returns
// the first failed check. Every error it returns is a UsageError, except
// flag.ErrHelp for -h.
func Parse(fs *flag.FlagSet, args []string, checks ...func() error) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return UsageError{err}
	}
	if fs.NArg() > 0 {
		return Usagef("unexpected arguments %q", fs.Args())
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return UsageError{err}
		}
	}
	return nil
}

// Addr checks that the flag's value is "host:port" with a valid host and a
// port in [1, 65535].
func Addr(flagName string, addr *string) func() error {
	return func() error {
		if _, _, err := dnsresolver.SplitHostPort(*addr); err != nil {
			return fmt.Errorf("-%s: %w", flagName, err)
		}
		return nil
	}
}

// OpenMatch checks the -frontend, -backend and -query flags that point a
// command at a real Open-Match: all of them or none, each "host:port". It
// reports whether they are set.
func OpenMatch(frontend, backend, query string) (bool, error) {
	set := 0
	for _, a := range []string{frontend, backend, query} {
		if a != "" {
			set++
		}
	}
	switch set {
	case 0:
		return false, nil
	case 3:
		for _, check := range []func() error{Addr("frontend", &frontend), Addr("backend", &backend), Addr("query", &query)} {
			if err := check(); err != nil {
				return true, err
			}
		}
		return true, nil
	default:
		return false, Usagef("set all of -frontend, -backend and -query to use a real Open-Match, or none for the embedded core")
	}
}

// Number is what Positive and NonNegative check.
type Number interface {
	~int | ~int64 | ~float64
}

// Positive checks that the flag's value is above zero.
func Positive[T Number](flagName string, v *T) func() error {
	return func() error {
		if *v <= 0 {
			return fmt.Errorf("-%s must be positive, got %v", flagName, *v)
		}
		return nil
	}
}

// NonNegative checks that the flag's value is zero or more.
func NonNegative[T Number](flagName string, v *T) func() error {
	return func() error {
		if *v < 0 {
			return fmt.Errorf("-%s must not be negative, got %v", flagName, *v)
		}
		return nil
	}
}

// Exit prints err, prefixed with the command's name, and returns the exit
// code: ExitOK for nil, ExitUsage for a UsageError or -h, else ExitFailure.
func Exit(stderr io.Writer, prog string, err error) int {
	var usage UsageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitUsage
	case errors.As(err, &usage):
		printErr(stderr, prog, err)
		return ExitUsage
	default:
		printErr(stderr, prog, err)
		return ExitFailure
	}
}

// printErr prints err prefixed with prog, unless it already is.
func printErr(w io.Writer, prog string, err error) {
	msg := err.Error()
	if !strings.HasPrefix(msg, prog+": ") {
		msg = prog + ": " + msg
	}
	fmt.Fprintln(w, msg)
}

// ListenAddr checks that the flag's value is an address to listen on:
// "[host]:port" with a port in [0, 65535].
func ListenAddr(flagName string, addr *string) func() error {
	return func() error {
		_, port, err := net.SplitHostPort(*addr)
		if err != nil {
			return fmt.Errorf("-%s: invalid address %q: %w", flagName, *addr, err)
		}
		if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			return fmt.Errorf("-%s: invalid address %q: port %q is not a number in [0, 65535]", flagName, *addr, port)
		}
		return nil
	}
}
