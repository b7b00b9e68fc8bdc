// Command doctor shows, from inside a pod, which balancing strategy meshmatch
// would use to reach an Open-Match service and why: what each strategy of the
// chain detected, what the service name resolves to, and which strategy Auto
// ends on. It finds out the way a client does: it dials the service with
// Auto over omclient's chain and waits for the connection to be READY, so a
// strategy that is detected but cannot connect (istiod has no Listener for
// the service, the sidecar cannot reach it) is passed over as Auto passes it
// over. It makes no call.
//
//	go run ./examples/doctor -addr open-match-frontend.open-match.svc.cluster.local:50504
//
// It exits 0 when Auto chose a strategy, 1 when none is available or the
// address is invalid, and 2 on bad flags. Detection is bounded by -timeout;
// connecting then takes at most -gate plus -timeout more.
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
	gate         time.Duration
	env          func(string) string // the process environment (os.Getenv)
}

func main() {
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr, os.Getenv))
}

// run is main without the process: it returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, env func(string) string) int {
	c, err := parse(args, stderr)
	if err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(stderr, "doctor:", err)
		}
		return 2
	}
	c.env = env
	if _, _, err := dnsresolver.SplitHostPort(c.addr); err != nil {
		fmt.Fprintf(stderr, "doctor: -addr: %v\n", err)
		return 1
	}
	fmt.Fprintf(stdout, "service: %s\n", c.addr)
	lctx, cancel := context.WithTimeout(ctx, c.timeout)
	printAddresses(lctx, stdout, c)
	cancel()
	dec, state, err := settle(ctx, c)
	if err != nil {
		fmt.Fprintf(stderr, "doctor: %v\n", err)
		return 1
	}
	for _, d := range dec.Detections {
		fmt.Fprintf(stdout, "%-9s %-13s %s\n", d.Strategy+":", availability(d), d.Reason)
	}
	if dec.Strategy == "" {
		fmt.Fprintf(stdout, "auto would use: nothing (%s)\n", dec.Reason)
		return 1
	}
	if first := firstAvailable(dec); first != "" && first != dec.Strategy {
		fmt.Fprintf(stdout, "note:     %s was detected but did not become READY within -gate %v; Auto moved on\n", first, c.gate)
	}
	fmt.Fprintf(stdout, "auto would use: %s (%s), connection %s\n", dec.Strategy, dec.Reason, state)
	return 0
}

// firstAvailable returns the first strategy of the chain that was detected
// available, or "".
func firstAvailable(dec balancer.Decision) string {
	for _, d := range dec.Detections {
		if d.Available {
			return d.Strategy
		}
	}
	return ""
}

func parse(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("doctor", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", defaultAddr, "service address, host:port")
	fs.DurationVar(&c.timeout, "timeout", 5*time.Second, "bound for all checks")
	fs.StringVar(&c.sidecarProbe, "sidecar-probe", balancer.DefaultSidecarProbeAddr, "Istio agent readiness address")
	fs.StringVar(&c.sidecarAdmin, "sidecar-admin", balancer.DefaultSidecarAdminAddr, "Envoy admin address")
	fs.StringVar(&c.istiod, "istiod", "", "istiod plaintext xDS address, used when no xDS bootstrap is set (default "+
		xds.DefaultIstiodAddr+", asked only inside a pod, as the library does)")
	fs.DurationVar(&c.gate, "gate", balancer.DefaultGate, "how long Auto lets a chosen strategy try to become READY")
	fs.StringVar(&c.dnsServer, "dns-server", "", "DNS server ip:port to ask instead of the system resolver")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case fs.NArg() > 0:
		return c, fmt.Errorf("unexpected arguments %q", fs.Args())
	case c.timeout <= 0:
		return c, fmt.Errorf("-timeout must be positive, got %v", c.timeout)
	case c.gate <= 0:
		return c, fmt.Errorf("-gate must be positive, got %v", c.gate)
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
