// Command omcore runs an in-memory Open-Match core on the standard ports
// (query 50503, frontend 50504, backend 50505 on 127.0.0.1), for local
// development without a cluster or Redis. FetchMatches dials the match
// function named in each request's FunctionConfig (gRPC or REST). Its
// synchronizer windows default to Open-Match's Helm values (registration
// 250 ms, proposal collection 20 s), so that a studio sees the timing of a
// cluster install. Its servers enforce Open-Match's keepalive policy. Stop it
// with Ctrl-C.
//
//	go run ./examples/omcore [-frontend addr] [-backend addr] [-query addr] [-admin addr] [-frontend-http addr] [-backend-http addr] [-query-http addr] [-metrics-addr addr] [-v]
//
// With -admin, an HTTP admin endpoint listens there: POST /reset forgets
// every ticket, backfill and pending ticket (omtest.Server.Reset), as
// flushing Redis does for a real core, so a shared core can serve many
// tests:
//
//	curl -X POST http://127.0.0.1:51599/reset
//
// It also serves the API as HTTP/JSON on upstream's HTTP ports (http.go),
// and with -metrics-addr its gRPC server metrics and the metrics of its
// connections to match functions in the Prometheus format on /metrics.
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

	"github.com/meshmatch/meshmatch/examples/internal/metrics"
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
	var ac adminConfig
	var hc httpConfig
	var metricsAddr string
	cfg, err := parseFlags(args, stderr, ac.register, hc.register, func(fs *flag.FlagSet) { metrics.Flag(fs, &metricsAddr) })
	if err != nil {
		return err
	}
	ep, err := metrics.Start(metricsAddr, "omcore", stderr)
	if err != nil {
		fmt.Fprintf(stderr, "omcore: %v\n", err)
		return err
	}
	defer ep.Close()
	cfg.MeterProvider = ep.MeterProvider()
	s, err := omtest.Start(cfg)
	if err != nil {
		fmt.Fprintf(stderr, "omcore: %v\n", err)
		return err
	}
	fmt.Fprintf(stderr, "omcore: frontend %s, backend %s, query %s\n", s.FrontendAddr(), s.BackendAddr(), s.QueryAddr())
	admin, err := ac.start(s, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "omcore: %v\n", err)
		return errors.Join(err, s.Close())
	}
	gw, err := hc.start(s, stderr)
	if err != nil {
		return errors.Join(err, admin.Close(), s.Close())
	}
	if ready != nil {
		ready(s)
	}
	<-ctx.Done()
	fmt.Fprintln(stderr, "omcore: shutting down")
	return errors.Join(gw.Close(), admin.Close(), s.Close())
}

// adminConfig is the -admin flag: the HTTP admin endpoint's address.
type adminConfig struct {
	addr string
}

func (a *adminConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&a.addr, "admin", "", "HTTP admin listen address serving POST /reset (default: off)")
}

// adminServer is the running admin endpoint; its zero value is "off".
type adminServer struct {
	srv  *http.Server
	done chan error
}

// start serves POST /reset on the configured address, if any.
func (a *adminConfig) start(s *omtest.Server, stderr io.Writer) (*adminServer, error) {
	if a.addr == "" {
		return &adminServer{}, nil
	}
	lis, err := net.Listen("tcp", a.addr)
	if err != nil {
		return nil, fmt.Errorf("admin: listen on %s: %w", a.addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /reset", func(w http.ResponseWriter, _ *http.Request) {
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	})
	as := &adminServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan error, 1)}
	go func() { as.done <- as.srv.Serve(lis) }()
	fmt.Fprintf(stderr, "omcore: admin %s (POST /reset)\n", lis.Addr())
	return as, nil
}

// Close stops the endpoint and waits for its serve loop.
func (a *adminServer) Close() error {
	if a.srv == nil {
		return nil
	}
	err := a.srv.Close()
	if serveErr := <-a.done; !errors.Is(serveErr, http.ErrServerClosed) {
		err = errors.Join(err, serveErr)
	}
	return err
}

// parseFlags parses the core's flags; more registers further flags (each
// feature of the command adds its own).
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
	fs.DurationVar(&cfg.RegistrationInterval, "registration-interval", omtest.HelmRegistrationInterval, "synchronizer registration window (Open-Match's Helm default)")
	fs.DurationVar(&cfg.ProposalCollectionInterval, "proposal-collection-interval", omtest.HelmProposalCollectionInterval, "how long a cycle waits for match functions (Open-Match's Helm default)")
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
