package main

import (
	"io"
	"net"
	"strconv"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/director"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
)

// defaultMMFHost is the match function Service of Open-Match's customize
// chart in the documented install.
const defaultMMFHost = "open-match-function.open-match.svc.cluster.local"

// config holds the director's flags.
type config struct {
	backend   string
	mmfHost   string
	mmfPort   int
	interval  time.Duration
	rounds    int
	timeout   time.Duration
	failEvery int64
	metrics   string // -metrics-addr
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := cli.NewFlagSet(prog, stderr)
	fs.StringVar(&c.backend, "backend", "", "Open-Match backend, host:port (default $MESHMATCH_BACKEND_ADDR or open-match-backend.open-match.svc.cluster.local:50505)")
	fs.StringVar(&c.mmfHost, "mmf-host", defaultMMFHost, "host the backend reaches the match function at")
	fs.IntVar(&c.mmfPort, "mmf-port", 50502, "port of the match function")
	fs.DurationVar(&c.interval, "interval", time.Second, "pause between rounds")
	fs.IntVar(&c.rounds, "rounds", 0, "rounds to run (0: until stopped)")
	fs.DurationVar(&c.timeout, "timeout", director.DefaultCallTimeout, "bound for each round's calls")
	fs.Int64Var(&c.failEvery, "fail-every", 0, "fail every n-th game server allocation (0: never)")
	mmf := ""
	metrics.Flag(fs, &c.metrics)
	err := cli.Parse(fs, args,
		metrics.Check(&c.metrics),
		func() error { c.backend = omclient.BackendAddr(c.backend); return nil },
		cli.Addr("backend", &c.backend),
		func() error { mmf = net.JoinHostPort(c.mmfHost, strconv.Itoa(c.mmfPort)); return nil },
		cli.Addr("mmf-host and -mmf-port", &mmf),
		cli.NonNegative("interval", &c.interval),
		cli.NonNegative("rounds", &c.rounds),
		cli.Positive("timeout", &c.timeout),
		cli.NonNegative("fail-every", &c.failEvery))
	return c, err
}
