// Command soak runs the whole Open-Match matchmaking loop for a while under
// faults on a seeded, reproducible schedule and counts, from the core's own
// records and from the clients, whether any ticket was lost, duplicated or
// assigned without its player seeing it:
//
//	go run ./examples/soak -duration 10m -strategy headless -seed 1 -out soak-out
//
// Simulated players arrive at -rate per second, create a ticket, watch for
// its assignment with the SDK's resuming watch and delete the ticket once
// assigned (or once they give up after -patience); a director fetches
// matches for every profile of the examples' game and assigns them to fake
// game servers, releasing the tickets of every -fail-every-th match whose
// allocation fails. The match function runs as -mmf-replicas processes
// (this executable again), which the core reaches by a name in a loopback
// DNS server with meshmatch's headless strategy; the core's default
// evaluator resolves collisions.
//
// The embedded in-memory core runs its frontend, backend and query as three
// replicas each over one state, on 127.0.0.1 to 127.0.0.3 (a fourth on
// 127.0.0.4 starts stopped, for the add fault), like Open-Match's stateless
// pods in front of Redis, and the players and the director reach them with
// the strategy under test (-strategy):
//
//   - static: the replicas' addresses, fixed;
//   - headless: A records of a name per service in a loopback DNS server
//     that answers as CoreDNS does for a headless Service (TTL 5 s);
//   - xds: proxyless gRPC from the fake istiod of testing/xdstest, which
//     serves what istiod sends, Istio's default retry policy included (the
//     test with build tag istiod runs it on a real istiod);
//   - sidecar: a sidecar stand-in per service (testing/istiotest's Proxy,
//     which balances and retries like Envoy on Istio's default route) and a
//     fake Istio agent;
//   - endpointslice: the Kubernetes API server's EndpointSlices; it needs a
//     cluster, so it runs against a real Open-Match in one, or in the test
//     with build tag kubernetes on the test control plane.
//
// The faults (-faults, default every kind the strategy can have) are placed
// in rounds of every kind in a seeded order, one at a time, -gap apart:
// SIGKILL and SIGTERM (drain) of a match function replica, abrupt stop and
// graceful drain (GOAWAY) of a core replica, each restarted after a few
// seconds; a replica removed from discovery while it keeps serving; a new
// replica started and listed; and the strategy's own part: the DNS server
// down for 20 s (headless), istiod killed and restarted (xds), the API
// server restarted (endpointslice), the sidecar restarted (sidecar). A
// fault that the strategy cannot have is refused; a -duration too short
// for one round of the chosen kinds is refused with the length it needs.
//
// After -duration no player arrives any more; the waiting ones have up to
// -drain to be assigned. Then the soak writes to -out: summary.txt (also
// printed), soak.csv (per second: calls, errors by code, p50 and p99
// latency, strategy in use, faults) and soak.svg (rate, errors and p99 over
// time with the faults shaded). The summary ends with one line per count,
// summed over the run:
//
//	lost: N        tickets created that were never assigned and never deleted
//	duplicated: N  tickets the core stored beyond the successful CreateTicket calls
//	unseen: N      assigned tickets whose player's watch never saw the assignment
//
// and the exit code is 0 only when the three are 0, no call failed outside
// a fault's window (from its start to 5 s after it was undone) and the run
// was complete. Ctrl-C ends the run early; the report is still written,
// marked incomplete.
//
// With -frontend, -backend and -query the soak runs against a real
// Open-Match, whose records it cannot read: the match function replicas
// run here on -mmf-port (sharing it with SO_REUSEPORT), where -mmf-host must
// reach them, the only faults are theirs, and the counts are the clients'
// (the summary says which).
package main

import (
	"context"
	"io"
	"os"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
)

const prog = "soak"

// wrapMain runs the soak; the kubernetes build wraps it in the test
// control plane's network namespace.
var wrapMain = func(run func() int) int { return run() }

func main() {
	if os.Getenv(roleEnv) == roleMMF {
		os.Exit(runMMF(os.Args[1:], os.Stdout, os.Stderr))
	}
	os.Exit(wrapMain(func() int {
		ctx, stop := cli.SignalContext()
		defer stop()
		return run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	rep, err := c.soak(ctx, stdout, stderr)
	if err != nil {
		return cli.Exit(stderr, prog, err)
	}
	return cli.Exit(stderr, prog, rep.verdict())
}
