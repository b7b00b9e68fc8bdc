// Command quickstart runs the whole Open-Match loop on one machine, with no
// cluster, in one command:
//
//	go run ./examples/quickstart
//
// It starts meshmatch's in-memory Open-Match core on loopback, three match
// function replicas on 127.0.0.1, 127.0.0.2 and 127.0.0.3 (one port) behind
// one DNS name served by a loopback DNS server, and has the core reach them
// with meshmatch's headless strategy: round robin over the name's A records,
// looked up again every second, as a headless Kubernetes Service would be.
// A director fetches matches for one profile per region and skill bucket,
// round after round, and assigns them to (fake) game servers, while -players
// simulated players create tickets and wait for their assignments with the
// SDK's resuming watch.
//
// It prints progress every -progress and ends with a summary: tickets,
// matches, assignment latency (from ticket creation to the watch seeing the
// assignment), the Run calls each replica served with their spread
// (max/min calls per replica), and which balancing strategy each
// connection used and why. It exits non-zero unless every player was
// assigned within -timeout.
//
// With -core-replicas n the embedded core runs its frontend, backend and
// query as n replicas each over one state, on 127.0.0.1 to 127.0.0.n with
// one port per service, as Open-Match's Helm chart runs them behind headless
// Services; the players, the director and the match functions reach them
// with the headless strategy over a name per service in the loopback DNS
// server, and the summary adds each service's calls per replica, counted
// from the replicas' own server metrics, with their spread.
//
// With -frontend, -backend and -query it uses a real Open-Match instead of the
// embedded core; the replicas still run here and -mmf-host (with -mmf-port)
// must be where that Open-Match's backend reaches them. Where 127.0.0.2 cannot
// be bound (macOS), the replicas use three ports on 127.0.0.1 and the core
// reaches them with the static strategy instead; the output says so.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/progress"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

const prog = "quickstart"

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
	_, err = c.run(ctx, stdout)
	return cli.Exit(stderr, prog, err)
}

// run sets everything up, plays, prints the summary and tears down. The
// summary is nil when the run failed before playing.
func (c config) run(parent context.Context, stdout io.Writer) (sum *summary, err error) {
	start := time.Now()
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()

	tel, err := newTelemetry()
	defer func() { err = errors.Join(err, tel.close()) }()
	if err != nil {
		return nil, err
	}
	rs, err := listenReplicas(c.listen, c.mmfPort)
	if err != nil {
		return nil, err
	}
	svc, err := startServices(c, rs, tel)
	if err != nil {
		_ = rs.close(ctx)
		return nil, err
	}
	defer func() { err = teardown(err, svc, rs) }()
	if err := rs.serve(omclient.NewQuery(svc.q.Conn), c.rules(), tel); err != nil {
		return nil, err
	}
	if err := tel.serve(c.metrics, stdout); err != nil {
		return nil, err
	}
	printSetup(stdout, c, rs, svc)
	if err := ready(ctx, stdout, svc, rs, tel); err != nil {
		return nil, err
	}
	var counters progress.Counters
	stop := progress.Every(stdout, c.progress, counters.String)
	out, err := c.play(ctx, svc, rs, &counters)
	stop()
	sum = summarize(c, time.Since(start), out, rs, svc, tel)
	sum.print(stdout)
	c.holdOpen(parent, stdout)
	return sum, err
}

// holdOpen keeps the run alive for -hold after the summary, so that
// /metrics can be scraped with everything still up.
func (c config) holdOpen(ctx context.Context, stdout io.Writer) {
	if c.hold <= 0 {
		return
	}
	fmt.Fprintf(stdout, "holding for %v (interrupt to stop)\n", c.hold)
	t := time.NewTimer(c.hold)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// ready checks the services and, when the core dials the replicas itself,
// waits until every replica answers through the core's connection; with
// core replicas, until every one answers through the run's connections.
// Then it notes the core replicas' calls so far, so that the summary counts
// only the calls of the run.
func ready(ctx context.Context, stdout io.Writer, svc *services, rs *replicas, tel *telemetry) error {
	if err := svc.check(ctx); err != nil {
		return err
	}
	if svc.mmf.Conn == nil {
		return nil
	}
	n, err := rs.warmUp(ctx, svc.mmf.Conn, tel)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "all %d replicas answer through the core's connection (%d health checks)\n", len(rs.list), n)
	if svc.coreNote == "" {
		return nil
	}
	checks := 0
	for i, cn := range []conn{svc.fe, svc.be, svc.q} {
		s := coreServices[i]
		n, err := warmUp(ctx, cn.Conn, func() bool { return !slices.Contains(tel.coreChecks(s), 0) })
		if err != nil {
			return fmt.Errorf("core %s replicas not all reachable: %w", s, err)
		}
		checks += n
	}
	fmt.Fprintf(stdout, "all %d replicas of the core's frontend, backend and query answer through the run's connections (%d health checks)\n",
		len(svc.core.ReplicaAddrs(omtest.ServiceFrontend)), checks)
	svc.coreBase = map[omtest.Service][]replicaCalls{}
	for _, s := range coreServices {
		svc.coreBase[s] = tel.coreCalls(s)
	}
	return nil
}

// teardown closes the services, then the replicas, within a fresh bound.
func teardown(err error, svc *services, rs *replicas) error {
	ctx, cancel := context.WithTimeout(context.Background(), cli.ShutdownTimeout)
	defer cancel()
	if cerr := svc.close(); cerr != nil && err == nil {
		err = fmt.Errorf("close: %w", cerr)
	}
	if cerr := rs.close(ctx); cerr != nil && err == nil {
		err = cerr
	}
	return err
}
