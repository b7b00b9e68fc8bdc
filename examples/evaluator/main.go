// Command evaluator is a custom Open-Match evaluator: Open-Match's default
// evaluator (highest evaluation_input score first, no ticket in two matches)
// that first rejects every proposal whose players' skill spread is above
// -max-spread, so that no lopsided match is played even when nothing better
// was proposed.
//
// Point Open-Match's synchronizer at it (evaluator host and port 50508 in
// the Helm values), or an in-memory core with omtest.WithEvaluatorTarget:
//
//	go run ./examples/evaluator -listen :50508 -max-spread 15
//
// It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

const prog = "evaluator"

func main() {
	ctx, stop := cli.SignalContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// config holds the evaluator's flags.
type config struct {
	listen      string
	maxSpread   float64
	metricsAddr string
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := cli.NewFlagSet(prog, stderr)
	fs.StringVar(&c.listen, "listen", ":50508", "address to serve the Evaluator service on")
	fs.Float64Var(&c.maxSpread, "max-spread", 20, "highest skill spread (best minus worst player) a match may have")
	metrics.Flag(fs, &c.metricsAddr)
	err := cli.Parse(fs, args, cli.ListenAddr("listen", &c.listen), cli.NonNegative("max-spread", &c.maxSpread), metrics.Check(&c.metricsAddr))
	return c, err
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	ep, err := metrics.Start(c.metricsAddr, prog, stdout)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	defer ep.Close()
	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		return cli.Exit(stderr, prog, fmt.Errorf("listen: %w", err))
	}
	srv := omclient.NewEvaluatorServer(func(_ context.Context, proposals []*pb.Match) ([]string, error) {
		return Evaluate(proposals, c.maxSpread), nil
	}, ep.ServerOptions()...)
	fmt.Fprintf(stdout, "evaluator: serving on %s (max skill spread %g)\n", lis.Addr(), c.maxSpread)
	if err := cli.Serve(ctx, srv, lis); err != nil {
		return cli.Exit(stderr, prog, err)
	}
	fmt.Fprintln(stdout, "evaluator: stopped")
	return cli.ExitOK
}

// Evaluate drops the proposals whose skill spread is above maxSpread and
// passes the rest to Open-Match's default evaluation. It returns the ids of
// the accepted proposals.
func Evaluate(proposals []*pb.Match, maxSpread float64) []string {
	kept := make([]*pb.Match, 0, len(proposals))
	for _, m := range proposals {
		if game.Spread(m) <= maxSpread {
			kept = append(kept, m)
		}
	}
	return omclient.DefaultEvaluate(kept)
}
