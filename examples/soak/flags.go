package main

import (
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
)

// defaultRefresh is how often the headless strategies look names up again.
const defaultRefresh = time.Second

// config holds the soak's flags.
type config struct {
	duration  time.Duration
	strategy  string
	seed      uint64
	out       string
	faults    string
	rate      float64
	mmfs      int
	patience  time.Duration
	drain     time.Duration
	gap       time.Duration
	progress  time.Duration
	failEvery int64

	// A real Open-Match instead of the embedded core.
	frontend, backend, query string
	mmfHost                  string
	mmfPort                  int

	// hosts places the embedded core and the match functions; tests on a
	// cluster network replace it.
	hosts func(mmfs int) hosts
	// fitDuration makes the run just long enough for one round of its
	// faults (for tests).
	fitDuration bool
	// newDiscovery, when set, replaces the strategy's entry in discoveries.
	newDiscovery newDiscoveryFunc
}

// external reports whether the run uses a real Open-Match.
func (c config) external() bool { return c.frontend != "" }

// timing is the schedule's spacing: -gap between faults, 10 s before the
// first and after the last, 5 s of grace after each fault is undone.
func (c config) timing() timing {
	return timing{warmup: 10 * time.Second, grace: 5 * time.Second, gap: c.gap, tail: 10 * time.Second}
}

// strategies are the -strategy values.
func strategies() []string {
	names := slices.Collect(maps.Keys(discoveries))
	for _, n := range []string{"endpointslice"} {
		if !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	return names
}

func parse(args []string, stderr io.Writer) (config, error) {
	c := config{hosts: loopbackHosts}
	fs := cli.NewFlagSet(prog, stderr)
	fs.DurationVar(&c.duration, "duration", 2*time.Minute, "how long players arrive and faults happen (the drain comes after)")
	fs.StringVar(&c.strategy, "strategy", "headless", "how the clients reach the core's replicas: "+strings.Join(strategies(), ", "))
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the fault schedule and of the players")
	fs.StringVar(&c.out, "out", "soak-out", "directory the summary, the CSV time series and the SVG chart are written to")
	fs.StringVar(&c.faults, "faults", "all", `faults to place: "all" the strategy can have, "none", or a comma-separated list of `+strings.Join(allFaults, ", "))
	fs.Float64Var(&c.rate, "rate", 20, "players arriving per second")
	fs.IntVar(&c.mmfs, "mmf-replicas", 3, "match function replicas (processes)")
	fs.DurationVar(&c.patience, "patience", 90*time.Second, "how long a player waits for an assignment before it deletes its ticket")
	fs.DurationVar(&c.drain, "drain", 2*time.Minute, "after -duration, how long waiting players may still be assigned")
	fs.DurationVar(&c.gap, "gap", 10*time.Second, "quiet time between one fault's window and the next fault")
	fs.DurationVar(&c.progress, "progress", 10*time.Second, "interval between progress lines")
	fs.Int64Var(&c.failEvery, "fail-every", 10, "fail every n-th game server allocation, so that tickets are released (0: never)")
	fs.StringVar(&c.frontend, "frontend", "", "frontend of a real Open-Match, host:port (with -backend, -query and -mmf-host; default: the embedded core)")
	fs.StringVar(&c.backend, "backend", "", "backend of a real Open-Match, host:port")
	fs.StringVar(&c.query, "query", "", "query service of a real Open-Match, host:port")
	fs.StringVar(&c.mmfHost, "mmf-host", "", "with a real Open-Match: the host its backend reaches the local match function replicas at")
	fs.IntVar(&c.mmfPort, "mmf-port", 50502, "with a real Open-Match: the port of the match function replicas")
	return c, cli.Parse(fs, args,
		cli.Positive("duration", &c.duration),
		cli.Positive("rate", &c.rate),
		cli.Positive("mmf-replicas", &c.mmfs),
		cli.Positive("patience", &c.patience),
		cli.NonNegative("drain", &c.drain),
		cli.NonNegative("gap", &c.gap),
		cli.Positive("progress", &c.progress),
		cli.NonNegative("fail-every", &c.failEvery),
		c.checkStrategy,
		c.checkExternal)
}

func (c *config) checkStrategy() error {
	if !slices.Contains(strategies(), c.strategy) {
		return cli.Usagef("-strategy %q: want one of %s", c.strategy, strings.Join(strategies(), ", "))
	}
	if c.mmfs > 9 {
		return cli.Usagef("-mmf-replicas %d: at most 9", c.mmfs)
	}
	if c.out == "" {
		return cli.Usagef("-out must name a directory")
	}
	return nil
}

func (c *config) checkExternal() error {
	external, err := cli.OpenMatch(c.frontend, c.backend, c.query)
	switch {
	case !external && err == nil && c.mmfHost != "":
		return cli.Usagef("-mmf-host is for a real Open-Match (-frontend, -backend, -query)")
	case !external || err != nil:
		return err
	case c.mmfHost == "":
		return cli.Usagef("-mmf-host is required with a real Open-Match: where its backend reaches the match function replicas this soak runs")
	case c.mmfPort <= 0 || c.mmfPort > 65535:
		return cli.Usagef("-mmf-port must be in [1, 65535], got %d", c.mmfPort)
	}
	return nil
}

// checkEmbedded refuses a strategy the embedded core has no discovery for.
func (c config) checkEmbedded() error {
	if _, ok := discoveries[c.strategy]; ok || c.newDiscovery != nil || c.external() {
		return nil
	}
	return cli.Usagef("-strategy %s needs a Kubernetes API server: run the soak against your Open-Match in a cluster (-frontend, -backend, -query), or its test on the test control plane (go test -tags kubernetes ./examples/soak)", c.strategy)
}

// possibleFaults are the kinds the run can have: the match functions' and
// the core replicas' always (the core's only when embedded), discovery
// changes when discovery can change, and the discovery's own.
func possibleFaults(external bool, d discovery, canList bool) []string {
	kinds := []string{faultMMFKill, faultMMFDrain}
	if external {
		return kinds
	}
	kinds = append(kinds, faultCoreKill, faultCoreDrain)
	if canList {
		kinds = append(kinds, faultRemove, faultAdd)
	}
	if d != nil {
		kinds = append(kinds, d.faults()...)
	}
	return kinds
}
