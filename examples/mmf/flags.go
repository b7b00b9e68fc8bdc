package main

import (
	"io"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
)

// config holds the mmf's flags.
type config struct {
	listen   string
	query    string
	teamSize int
	maxWait  time.Duration
	timeout  time.Duration
	metrics  string // -metrics-addr
}

func (c config) rules() game.Rules {
	return game.Rules{TeamSize: c.teamSize, MaxWait: c.maxWait, Function: "meshmatch-examples-teams"}
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := cli.NewFlagSet(prog, stderr)
	fs.StringVar(&c.listen, "listen", ":50502", "address to serve the MatchFunction service on")
	fs.StringVar(&c.query, "query", "", "Open-Match query service, host:port (default $MESHMATCH_QUERY_ADDR or open-match-query.open-match.svc.cluster.local:50503)")
	fs.IntVar(&c.teamSize, "team-size", 2, "players per team; a match has two teams")
	fs.DurationVar(&c.maxWait, "max-wait", 10*time.Second, "wait after which leftover players play short-handed (0: never)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "bound for reaching the query service at start")
	metrics.Flag(fs, &c.metrics)
	err := cli.Parse(fs, args,
		metrics.Check(&c.metrics),
		cli.ListenAddr("listen", &c.listen),
		func() error { c.query = omclient.QueryAddr(c.query); return nil },
		cli.Addr("query", &c.query),
		cli.Positive("team-size", &c.teamSize),
		cli.NonNegative("max-wait", &c.maxWait),
		cli.Positive("timeout", &c.timeout))
	return c, err
}
