package main

import (
	"io"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
)

// config holds the frontend's flags.
type config struct {
	frontend string
	players  int
	rate     float64
	seed     uint64
	timeout  time.Duration
	metrics  string // -metrics-addr
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := cli.NewFlagSet(prog, stderr)
	fs.StringVar(&c.frontend, "frontend", "", "Open-Match frontend, host:port (default $MESHMATCH_FRONTEND_ADDR or open-match-frontend.open-match.svc.cluster.local:50504)")
	fs.IntVar(&c.players, "players", 10, "number of simulated players")
	fs.Float64Var(&c.rate, "rate", 0, "players arriving per second (0: all at once)")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the players' regions and skills")
	fs.DurationVar(&c.timeout, "timeout", 30*time.Second, "bound for every player to be assigned")
	metrics.Flag(fs, &c.metrics)
	err := cli.Parse(fs, args,
		metrics.Check(&c.metrics),
		func() error { c.frontend = omclient.FrontendAddr(c.frontend); return nil },
		cli.Addr("frontend", &c.frontend),
		cli.Positive("players", &c.players),
		cli.NonNegative("rate", &c.rate),
		cli.Positive("timeout", &c.timeout))
	return c, err
}
