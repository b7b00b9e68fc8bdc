// Command omcore runs an in-memory Open-Match core on the standard ports
// (query 50503, frontend 50504, backend 50505 on 127.0.0.1), for local
// development without a cluster or Redis. FetchMatches dials the match
// function named in each request's FunctionConfig (gRPC or REST). Its
// synchronizer windows default to Open-Match's Helm values (registration
// 250 ms, proposal collection 20 s), so that a studio sees the timing of a
// cluster install. Its servers enforce Open-Match's keepalive policy. Stop it
// with Ctrl-C.
//
//	go run ./examples/omcore [-frontend addr[,addr…]] [-backend addr[,addr…]] [-query addr[,addr…]] [-replicas n] [-admin addr] [-frontend-http addr] [-backend-http addr] [-query-http addr] [-metrics-addr addr] [-v]
//
// With -replicas n, frontend, backend and query each run as n replicas over
// the one state, as Open-Match's Helm chart runs 3 of each: replica i on the
// host i after the flag's, on its port (127.0.0.1, 127.0.0.2 and 127.0.0.3
// on 50504 for -replicas 3), or on the addresses a flag lists:
//
//	go run ./examples/omcore -replicas 3
//
// With -admin, an HTTP admin endpoint listens there: POST /reset forgets
// every ticket, backfill and pending ticket (omtest.Server.Reset), as
// flushing Redis does for a real core, so a shared core can serve many
// tests; GET /replicas lists the core's servers, and POST
// /replicas/{frontend|backend|query}/{index}/{stop|drain|restart} kills one
// (connections reset), drains it (GOAWAY; ?timeout= bounds it, default
// 30 s) or restarts it on its address:
//
//	curl -X POST http://127.0.0.1:51599/reset
//	curl -X POST http://127.0.0.1:51599/replicas/frontend/1/stop
//
// It also serves the API as HTTP/JSON on upstream's HTTP ports (http.go),
// forwarding round robin over the replicas, and with -metrics-addr its gRPC
// server metrics (labelled replica="host:port") and the metrics of its
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
	"strings"
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
	m, err := startMetrics(metricsAddr, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "omcore: %v\n", err)
		return err
	}
	defer m.Close()
	m.apply(&cfg)
	s, err := omtest.Start(cfg)
	if err == nil {
		if err = m.err(); err != nil {
			err = errors.Join(err, s.Close())
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "omcore: %v\n", err)
		return err
	}
	fmt.Fprintf(stderr, "omcore: frontend %s, backend %s, query %s\n", list(s, omtest.ServiceFrontend), list(s, omtest.ServiceBackend), list(s, omtest.ServiceQuery))
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

// list is the addresses of svc's replicas, comma-separated.
func list(s *omtest.Server, svc omtest.Service) string {
	return strings.Join(s.ReplicaAddrs(svc), ",")
}

// adminConfig is the -admin flag: the HTTP admin endpoint's address.
type adminConfig struct {
	addr string
}

func (a *adminConfig) register(fs *flag.FlagSet) {
	fs.StringVar(&a.addr, "admin", "", "HTTP admin listen address serving POST /reset, GET /replicas and POST /replicas/{service}/{index}/{stop|drain|restart} (default: off)")
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
	replicaRoutes(mux, s)
	as := &adminServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, done: make(chan error, 1)}
	go func() { as.done <- as.srv.Serve(lis) }()
	fmt.Fprintf(stderr, "omcore: admin %s (POST /reset)\n", lis.Addr())
	fmt.Fprintf(stderr, "omcore: admin %s (GET /replicas, POST /replicas/{service}/{index}/{stop|drain|restart})\n", lis.Addr())
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
	var lf listenFlags
	lf.register(fs)
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
	fs.Visit(func(f *flag.Flag) { lf.replicasSeen = lf.replicasSeen || f.Name == "replicas" })
	if err := lf.apply(&cfg); err != nil {
		fmt.Fprintf(stderr, "omcore: %v\n", err)
		return cfg, fmt.Errorf("%w: %w", errUsage, err)
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
