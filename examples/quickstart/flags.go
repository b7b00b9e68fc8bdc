package main

import (
	"io"
	"net"
	"strconv"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// config holds the quickstart's flags.
type config struct {
	players   int
	rate      float64
	teamSize  int
	maxWait   time.Duration
	failEvery int64
	seed      uint64
	timeout   time.Duration
	progress  time.Duration
	metrics   string        // -metrics-addr
	hold      time.Duration // how long to keep serving after the summary

	coreReplicas int // replicas of each of the embedded core's services

	// A real Open-Match instead of the embedded core.
	frontend, backend, query string
	mmfHost                  string
	mmfPort                  int

	// listen opens the replicas' listeners; tests replace it.
	listen listenFunc
	// startCore starts the embedded core; tests replace it.
	startCore func(omtest.Config) (*omtest.Server, error)
}

// external reports whether the run uses a real Open-Match.
func (c config) external() bool { return c.frontend != "" }

func (c config) rules() game.Rules {
	return game.Rules{TeamSize: c.teamSize, MaxWait: c.maxWait, Function: "quickstart-teams"}
}

func parse(args []string, stderr io.Writer) (config, error) {
	c := config{listen: net.Listen, startCore: omtest.Start}
	fs := cli.NewFlagSet(prog, stderr)
	fs.IntVar(&c.players, "players", 2000, "number of simulated players")
	fs.Float64Var(&c.rate, "rate", 1000, "players arriving per second (0: all at once)")
	fs.IntVar(&c.teamSize, "team-size", 2, "players per team; a match has two teams")
	fs.DurationVar(&c.maxWait, "max-wait", 500*time.Millisecond, "wait after which leftover players play short-handed")
	fs.Int64Var(&c.failEvery, "fail-every", 25, "fail every n-th game server allocation, to show releases (0: never)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the players' regions and skills")
	fs.DurationVar(&c.timeout, "timeout", time.Minute, "bound for the whole run")
	fs.DurationVar(&c.progress, "progress", time.Second, "interval between progress lines")
	fs.StringVar(&c.frontend, "frontend", "", "frontend of a real Open-Match, host:port (with -backend and -query; default: embedded core)")
	fs.StringVar(&c.backend, "backend", "", "backend of a real Open-Match, host:port")
	fs.StringVar(&c.query, "query", "", "query service of a real Open-Match, host:port")
	fs.StringVar(&c.mmfHost, "mmf-host", "", "host a real Open-Match backend reaches the local match functions at (default "+mmfName+" with the embedded core, 127.0.0.1 otherwise)")
	fs.IntVar(&c.mmfPort, "mmf-port", 0, "port of the match function replicas (0: any free port)")
	fs.IntVar(&c.coreReplicas, "core-replicas", 1, "replicas of each of the embedded core's frontend, backend and query, over one state (on 127.0.0.1, 127.0.0.2, …)")
	metrics.Flag(fs, &c.metrics)
	fs.DurationVar(&c.hold, "hold", 0, "after the summary, keep everything running (and -metrics-addr serving) this long, or until interrupted")
	return c, cli.Parse(fs, args,
		metrics.Check(&c.metrics),
		cli.NonNegative("hold", &c.hold),
		cli.Positive("players", &c.players),
		cli.NonNegative("rate", &c.rate),
		cli.Positive("team-size", &c.teamSize),
		cli.Positive("max-wait", &c.maxWait),
		cli.NonNegative("fail-every", &c.failEvery),
		cli.Positive("timeout", &c.timeout),
		cli.Positive("progress", &c.progress),
		cli.Positive("core-replicas", &c.coreReplicas),
		c.checkExternal,
		c.checkMMF)
}

// checkExternal accepts all of -frontend, -backend and -query, or none.
func (c *config) checkExternal() error {
	external, err := cli.OpenMatch(c.frontend, c.backend, c.query)
	if err == nil && external && c.coreReplicas != 1 {
		return cli.Usagef("-core-replicas is for the embedded core; a real Open-Match runs its own replicas")
	}
	return err
}

func (c *config) checkMMF() error {
	if c.mmfPort < 0 || c.mmfPort > 65535 {
		return cli.Usagef("-mmf-port must be in [0, 65535], got %d", c.mmfPort)
	}
	if c.mmfHost == "" {
		c.mmfHost = mmfName
		if c.external() {
			c.mmfHost = "127.0.0.1"
		}
	}
	addr := net.JoinHostPort(c.mmfHost, strconv.Itoa(max(c.mmfPort, 1)))
	return cli.Addr("mmf-host", &addr)()
}
