// Command frontend simulates players of a game: each creates an Open-Match
// ticket with a random region and skill through the frontend service and
// waits for its game server with meshmatch's resuming assignment watch. It
// prints every assignment as it arrives and a summary with the assignment
// latencies, and exits non-zero if a player is not assigned within -timeout.
//
// With a director and the example match function running against Open-Match:
//
//	go run ./examples/frontend -frontend open-match-frontend.open-match.svc.cluster.local:50504 -players 20
//
// SIGINT or SIGTERM stops the waiting players.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"google.golang.org/protobuf/types/known/wrapperspb"

	// In the chain, and MESHMATCH_STRATEGY=endpointslice as
	// deploy/overlays/endpointslice sets it.
	_ "github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/director"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/examples/internal/players"
	"github.com/meshmatch/meshmatch/examples/internal/progress"
	"github.com/meshmatch/meshmatch/omclient"
)

const prog = "frontend"

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
	fe, err := omclient.DialFrontend(c.frontend, ep.Options()...)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	defer fe.Close()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	sim := newSim(c, fe, stdout)
	fmt.Fprintf(stdout, "frontend: %d players at %s\n", c.players, c.frontend)
	results, err := sim.Run(ctx)
	lat := players.Latencies(results)
	fmt.Fprintf(stdout, "frontend: %d of %d players assigned; latency p50 %v p99 %v\n", len(lat), len(results),
		progress.Percentile(lat, 50).Round(time.Millisecond), progress.Percentile(lat, 99).Round(time.Millisecond))
	return cli.Exit(stderr, prog, err)
}

// newSim returns the players the flags describe; each assignment is printed
// to stdout as it arrives.
func newSim(c config, fe *omclient.Frontend, stdout io.Writer) *players.Sim {
	var mu sync.Mutex
	return &players.Sim{
		Frontend: fe, Players: c.players, Rate: c.rate, Seed: c.seed,
		OnResult: func(r players.Result) {
			if r.Err != nil {
				return
			}
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(stdout, describe(r))
		},
	}
}

// describe formats one assignment.
func describe(r players.Result) string {
	team := "?"
	var v wrapperspb.StringValue
	if a, ok := r.Assignment.GetExtensions()[director.TeamExtension]; ok && a.UnmarshalTo(&v) == nil {
		team = v.GetValue()
	}
	return fmt.Sprintf("ticket %s (%s, skill %4.1f): %s team %s after %v", r.Ticket.GetId(),
		game.Region(r.Ticket), game.Skill(r.Ticket), r.Assignment.GetConnection(), team, r.Latency.Round(time.Millisecond))
}
