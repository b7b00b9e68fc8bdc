// Command mmf is a team match function for Open-Match: it matches players of
// the same region and skill bucket into two teams of -team-size, scores each
// proposal for the default evaluator (tight skill spread, balanced teams and
// long waits score high) and serves Open-Match's MatchFunction service. It
// reads the profile's pools through a balanced meshmatch Query client.
//
// In a cluster, next to a default Open-Match install:
//
//	go run ./examples/mmf -listen :50502 -query open-match-query.open-match.svc.cluster.local:50503
//
// Directors then fetch matches with FunctionConfig{host: <this service>,
// port: 50502}. It stops gracefully on SIGINT or SIGTERM.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	// In the chain, and MESHMATCH_STRATEGY=endpointslice as
	// deploy/overlays/endpointslice sets it.
	_ "github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

const prog = "mmf"

func main() {
	ctx, stop := cli.SignalContext()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	ep, err := metrics.Start(c.metrics, prog, stdout)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	defer ep.Close()
	lis, err := net.Listen("tcp", c.listen)
	if err != nil {
		return cli.Exit(stderr, prog, fmt.Errorf("listen: %w", err))
	}
	return cli.Exit(stderr, prog, serve(ctx, c, lis, stdout, ep))
}

// serve checks that the query service answers, then serves the match
// function on lis until ctx ends.
func serve(ctx context.Context, c config, lis net.Listener, stdout io.Writer, ep *metrics.Endpoint) error {
	q, err := omclient.DialQuery(c.query, ep.Options()...)
	if err != nil {
		_ = lis.Close()
		return err
	}
	defer q.Close()
	if err := checkQuery(ctx, q, c.timeout); err != nil {
		_ = lis.Close()
		return err
	}
	srv := omclient.NewMatchFunctionServer(q, c.rules().MatchFunc(), ep.ServerOptions()...)
	fmt.Fprintf(stdout, "mmf: serving on %s (teams of %d, short-handed after %v), querying %s\n",
		lis.Addr(), c.teamSize, c.maxWait, c.query)
	if err := cli.Serve(ctx, srv, lis); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "mmf: stopped")
	return nil
}

// probePool selects no ticket: no ticket has this search field.
var probePool = &pb.Pool{Name: "probe", TagPresentFilters: []*pb.TagPresentFilter{{Tag: "meshmatch.examples/never-set"}}}

// checkQuery fails fast when the query service cannot be reached within
// timeout, so a misconfigured -query shows at start, not on every Run.
func checkQuery(ctx context.Context, q *omclient.Query, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if _, err := q.QueryTicketIds(ctx, probePool); err != nil {
		return fmt.Errorf("query service unreachable: %w", err)
	}
	return nil
}
