// Command director is the loop a game backend runs against Open-Match: every
// -interval it fetches matches for one profile per region and skill bucket,
// concurrently, has a (fake) allocator find a game server for each match,
// assigns each team's tickets to it and releases the tickets of matches that
// got no server, so that they are matched again in a later round.
//
// In a cluster, with the example match function deployed as a Service:
//
//	go run ./examples/director -backend open-match-backend.open-match.svc.cluster.local:50505 \
//		-mmf-host open-match-function.open-match.svc.cluster.local -mmf-port 50502
//
// -fail-every n makes every n-th allocation fail, to watch the release path.
// It stops gracefully on SIGINT or SIGTERM, finishing the round in flight; it
// exits non-zero when a whole round fails (e.g. the backend is unreachable
// for -timeout).
package main

import (
	"context"
	"fmt"
	"io"
	"os"

	// In the chain, and MESHMATCH_STRATEGY=endpointslice as
	// deploy/overlays/endpointslice sets it.
	_ "github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/director"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

const prog = "director"

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
	be, err := omclient.DialBackend(c.backend, ep.Options()...)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	defer be.Close()
	d := newDirector(c, be, stdout, stderr)
	fmt.Fprintf(stdout, "director: backend %s, match function %s:%d, %d profiles\n", c.backend, c.mmfHost, c.mmfPort, len(d.Profiles))
	st, err := d.Run(ctx)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	fmt.Fprintf(stdout, "director: done after %d rounds: %s\n", st.Rounds, describe(st))
	return cli.ExitOK
}

// newDirector returns the director the flags describe; it prints each
// round to stdout.
func newDirector(c config, be *omclient.Backend, stdout, stderr io.Writer) *director.Director {
	return &director.Director{
		Backend:     be,
		Function:    &pb.FunctionConfig{Host: c.mmfHost, Port: int32(c.mmfPort), Type: pb.FunctionConfig_GRPC},
		Profiles:    game.Profiles(),
		Allocator:   &director.FakeAllocator{FailEvery: c.failEvery},
		Interval:    c.interval,
		Rounds:      c.rounds,
		CallTimeout: c.timeout,
		Log:         stderr,
		OnRound: func(n int, st director.Stats) {
			fmt.Fprintf(stdout, "round %d: %s\n", n, describe(st))
		},
	}
}

func describe(st director.Stats) string {
	return fmt.Sprintf("%d matches, %d tickets assigned, %d released (%d allocations failed), %d tickets gone, %d fetches failed",
		st.Matches, st.Assigned, st.Released, st.AllocFailures, st.MissingTickets, st.ProfileFailures)
}
