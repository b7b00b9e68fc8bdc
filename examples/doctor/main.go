// Command doctor shows, from inside a pod, which balancing strategy meshmatch
// would use to reach an Open-Match service and why: what each strategy of the
// chain detected, what the service name resolves to, and which strategy Auto
// would pick.
//
//	go run ./examples/doctor -addr open-match-frontend.open-match.svc.cluster.local:50504
//
// It exits 0 when a strategy is available, 1 when none is or the address is
// invalid, and 2 on bad flags. Every check is bounded by -timeout.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/dnsresolver"
	"github.com/meshmatch/meshmatch/xds"
)

// defaultAddr is the frontend's address in a default Open-Match install.
const defaultAddr = "open-match-frontend.open-match.svc.cluster.local:50504"

// config holds doctor's flags.
type config struct {
	addr         string
	timeout      time.Duration
	sidecarProbe string
	sidecarAdmin string
	dnsServer    string
	istiod       string
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	c, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "doctor:", err)
		}
		return 2
	}
	if _, _, err := dnsresolver.SplitHostPort(c.addr); err != nil {
		fmt.Fprintf(stderr, "doctor: -addr: %v\n", err)
		return 1
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	fmt.Fprintf(stdout, "service: %s\n", c.addr)
	printAddresses(ctx, stdout, c)
	dec := balancer.Auto{Strategies: strategies(c), DetectTimeout: c.timeout}.Choose(ctx, c.addr)
	for _, d := range dec.Detections {
		fmt.Fprintf(stdout, "%-9s %-13s %s\n", d.Strategy+":", availability(d), d.Reason)
	}
	if dec.Strategy == "" {
		fmt.Fprintf(stdout, "auto would use: nothing (%s)\n", dec.Reason)
		return 1
	}
	fmt.Fprintf(stdout, "auto would use: %s (%s)\n", dec.Strategy, dec.Reason)
	return 0
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", defaultAddr, "service address, host:port")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "bound for all checks")
	fs.StringVar(&c.sidecarProbe, "sidecar-probe", balancer.DefaultSidecarProbeAddr, "Istio agent readiness address")
	fs.StringVar(&c.sidecarAdmin, "sidecar-admin", balancer.DefaultSidecarAdminAddr, "Envoy admin address")
	fs.StringVar(&c.istiod, "istiod", xds.DefaultIstiodAddr, "istiod plaintext xDS address, used when no xDS bootstrap is set")
	fs.StringVar(&c.dnsServer, "dns-server", "", "DNS server ip:port to ask instead of the system resolver")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.timeout <= 0:
		return c, fmt.Errorf("-timeout must be positive, got %v", c.timeout)
	}
	return c, nil
}

// printAddresses prints what the service's host name resolves to.
func printAddresses(ctx context.Context, w io.Writer, c config) {
	host, _, _ := net.SplitHostPort(c.addr)
	ips, err := dnsresolver.NewLookup(c.dnsServer)(ctx, host)
	if err != nil {
		fmt.Fprintf(w, "dns:      %s does not resolve: %v\n", host, err)
		return
	}
	fmt.Fprintf(w, "dns:      %s resolves to %v\n", host, ips)
}

func availability(d balancer.Detection) string {
	if d.Available {
		return "available"
	}
	return "not available"
}
