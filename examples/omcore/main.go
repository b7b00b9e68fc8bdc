// Command omcore runs an in-memory Open-Match core on the standard ports
// (query 50503, frontend 50504, backend 50505 on 127.0.0.1), for local
// development without a cluster or Redis. FetchMatches dials the match
// function named in each request's FunctionConfig (gRPC or REST). Its
// synchronizer windows default to Open-Match's Helm values (registration
// 250 ms, proposal collection 20 s), so that a studio sees the timing of a
// cluster install. Its servers enforce Open-Match's keepalive policy. Stop it
// with Ctrl-C.
//
//	go run ./examples/omcore [-frontend addr] [-backend addr] [-query addr] [-admin addr] [-v]
//
// With -admin, an HTTP admin endpoint listens there: POST /reset forgets
// every ticket, backfill and pending ticket (omtest.Server.Reset), as
// flushing Redis does for a real core, so a shared core can serve many
// tests:
//
//	curl -X POST http://127.0.0.1:51500/reset
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
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
	opts, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	s, err := omtest.Start(opts.core)
	if err != nil {
		fmt.Fprintf(stderr, "omcore: %v\n", err)
		return err
	}
	fmt.Fprintf(stderr, "omcore: frontend %s, backend %s, query %s\n", s.FrontendAddr(), s.BackendAddr(), s.QueryAddr())
	stopAdmin, err := startAdmin(opts.admin, s, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "omcore: %v\n", err)
		return errors.Join(err, s.Close())
	}
	if ready != nil {
		ready(s)
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "omcore: shutting down")
	return errors.Join(stopAdmin(), s.Close())
}

// options is the parsed command line.
type options struct {
	core  omtest.Config
	admin string // HTTP admin listen address, "" for none
}

// startAdmin serves POST /reset on addr, if set; stop shuts it down.
func startAdmin(addr string, s *omtest.Server, stderr io.Writer) (stop func() error, err error) {
	if addr == "" {
		return func() error { return nil }, nil
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	fmt.Fprintf(stderr, "omcore: admin %s (POST /reset)\n", lis.Addr())
	return func() error {
		err := srv.Close()
		if serveErr := <-done; !errors.Is(serveErr, http.ErrServerClosed) {
			err = errors.Join(err, serveErr)
		}
		return err
	}, nil
}

func parseFlags(args []string, stderr io.Writer) (options, error) {
	fs := flag.NewFlagSet("omcore", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var opts options
	cfg := &opts.core
	fs.StringVar(&cfg.FrontendAddr, "frontend", "127.0.0.1:50504", "FrontendService listen address")
	fs.StringVar(&cfg.BackendAddr, "backend", "127.0.0.1:50505", "BackendService listen address")
	fs.StringVar(&cfg.QueryAddr, "query", "127.0.0.1:50503", "QueryService listen address")
	fs.DurationVar(&cfg.RegistrationInterval, "registration-interval", omtest.HelmRegistrationInterval, "synchronizer registration window (Open-Match's Helm default)")
	fs.DurationVar(&cfg.ProposalCollectionInterval, "proposal-collection-interval", omtest.HelmProposalCollectionInterval, "how long a cycle waits for match functions (Open-Match's Helm default)")
	fs.DurationVar(&cfg.PendingReleaseTimeout, "pending-release-timeout", time.Minute, "how long matched tickets stay hidden from queries")
	fs.DurationVar(&cfg.AssignedDeleteTimeout, "assigned-delete-timeout", 10*time.Minute, "how long assigned tickets are kept")
	fs.IntVar(&cfg.QueryPageSize, "page-size", 10000, "items per query stream message, 10 to 10000")
	fs.StringVar(&cfg.EvaluatorTarget, "evaluator", "", "host:port of a gRPC evaluator (default: built-in default evaluator)")
	fs.StringVar(&opts.admin, "admin", "", "HTTP admin listen address serving POST /reset (default: off)")
	verbose := fs.Bool("v", false, "log diagnostics to stderr")
	if err := fs.Parse(args); err != nil {
		return opts, fmt.Errorf("%w: %w", errUsage, err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "omcore: unexpected arguments: %v\n", fs.Args())
		fs.Usage()
		return opts, fmt.Errorf("%w: unexpected arguments %v", errUsage, fs.Args())
	}
	for name, d := range map[string]time.Duration{
		"registration-interval":        cfg.RegistrationInterval,
		"proposal-collection-interval": cfg.ProposalCollectionInterval,
		"pending-release-timeout":      cfg.PendingReleaseTimeout,
		"assigned-delete-timeout":      cfg.AssignedDeleteTimeout,
	} {
		if d <= 0 {
			fmt.Fprintf(stderr, "omcore: -%s must be positive, got %v\n", name, d)
			return opts, fmt.Errorf("%w: -%s must be positive", errUsage, name)
		}
	}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	}
	return opts, nil
}
