// Command omcore runs an in-memory Open-Match core on the standard ports
// (query 50503, frontend 50504, backend 50505 on 127.0.0.1), for local
// development without a cluster or Redis. FetchMatches dials the match
// function named in each request's FunctionConfig. Stop it with Ctrl-C.
//
// It also serves the API as HTTP/JSON on upstream's HTTP ports (http.go).
//
//	go run ./examples/omcore [-frontend addr] [-backend addr] [-query addr] [-v]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/meshmatch/meshmatch/testing/omtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stderr, nil)
	stop()
	os.Exit(exitCode(err))
}

// errUsage marks a bad command line (exit status 2, like the flag package).
var errUsage = errors.New("usage")

func exitCode(err error) int {
	switch {
	case err == nil:
		return 0
	case errors.Is(err, errUsage):
		return 2
	default:
		return 1
	}
}

// run parses args, starts the core, calls ready (if not nil) once it is
// listening, and serves until ctx is done.
func run(ctx context.Context, args []string, stderr io.Writer, ready func(*omtest.Server)) error {
	var hc httpConfig
	cfg, err := parseFlags(args, stderr, hc.register)
	if err != nil {
		return err
	}
	s, err := omtest.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "omcore: %v\n", err)
		return err
	}
	fmt.Fprintf(stderr, "omcore: frontend %s, backend %s, query %s\n", s.FrontendAddr(), s.BackendAddr(), s.QueryAddr())
	gw, err := hc.start(s, stderr)
	if err != nil {
		return errors.Join(err, s.Close())
	}
	if ready != nil {
		ready(s)
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "omcore: shutting down")
	return errors.Join(gw.Close(), s.Close())
}

func parseFlags(args []string, stderr io.Writer, more ...func(*flag.FlagSet)) (omtest.Config, error) {
	fs := flag.NewFlagSet("omcore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	for _, register := range more {
		register(fs)
	}
	var cfg omtest.Config
	fs.StringVar(&cfg.FrontendAddr, "frontend", "127.0.0.1:50504", "FrontendService listen address")
	fs.StringVar(&cfg.BackendAddr, "backend", "127.0.0.1:50505", "BackendService listen address")
	fs.StringVar(&cfg.QueryAddr, "query", "127.0.0.1:50503", "QueryService listen address")
	fs.DurationVar(&cfg.RegistrationInterval, "registration-interval", 250*time.Millisecond, "synchronizer registration window")
	fs.DurationVar(&cfg.ProposalCollectionInterval, "proposal-collection-interval", 20*time.Second, "how long a cycle waits for match functions")
	fs.DurationVar(&cfg.PendingReleaseTimeout, "pending-release-timeout", time.Minute, "how long matched tickets stay hidden from queries")
	fs.DurationVar(&cfg.AssignedDeleteTimeout, "assigned-delete-timeout", 10*time.Minute, "how long assigned tickets are kept")
	fs.IntVar(&cfg.QueryPageSize, "page-size", 10000, "items per query stream message, 10 to 10000")
	fs.StringVar(&cfg.EvaluatorTarget, "evaluator", "", "host:port of a gRPC evaluator (default: built-in default evaluator)")
	verbose := fs.Bool("v", false, "log diagnostics to stderr")
	if err := fs.Parse(args); err != nil {
		return cfg, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "omcore: unexpected arguments: %v\n", fs.Args())
		fs.Usage()
		return cfg, fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	for name, d := range map[string]time.Duration{
		"registration-interval":        cfg.RegistrationInterval,
		"proposal-collection-interval": cfg.ProposalCollectionInterval,
		"pending-release-timeout":      cfg.PendingReleaseTimeout,
		"assigned-delete-timeout":      cfg.AssignedDeleteTimeout,
	} {
		if d <= 0 {
			fmt.Fprintf(stderr, "omcore: -%s must be positive, got %v\n", name, d)
			return cfg, fmt.Errorf("%w: -%s must be positive", errUsage, name)
		}
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	return cfg, nil
}
