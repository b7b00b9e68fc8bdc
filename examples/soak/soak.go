package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/examples/internal/director"
	"github.com/meshmatch/meshmatch/examples/internal/timeseries"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
	"github.com/meshmatch/meshmatch/xds"
)

// clients are the run's connections to the core's services.
type clients struct {
	fe, be, q *omclient.Conn
	reader    *sdkmetric.ManualReader // the SDK's instruments on these connections
	mp        *sdkmetric.MeterProvider
}

func (cl *clients) close() {
	for _, c := range []*omclient.Conn{cl.fe, cl.be, cl.q} {
		if c != nil {
			_ = c.Close()
		}
	}
	if cl.mp != nil {
		_ = cl.mp.Shutdown(context.Background())
	}
}

// connect dials each service at its target with its strategy.
func connect(targets map[omtest.Service]string, strategies map[omtest.Service]balancer.Strategy) (*clients, error) {
	cl := &clients{reader: sdkmetric.NewManualReader()}
	cl.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(cl.reader))
	for svc, dst := range map[omtest.Service]**omclient.Conn{omtest.ServiceFrontend: &cl.fe, omtest.ServiceBackend: &cl.be, omtest.ServiceQuery: &cl.q} {
		opts := []omclient.Option{omclient.WithMeterProvider(cl.mp)}
		if s := strategies[svc]; s != nil {
			opts = append(opts, omclient.WithStrategy(s))
		}
		cc, err := omclient.NewConn(targets[svc], opts...)
		if err != nil {
			cl.close()
			return nil, fmt.Errorf("%s: %w", svc, err)
		}
		*dst = cc
	}
	return cl, nil
}

// externalStrategy is the strategy -strategy names for a real Open-Match,
// with its defaults (in-cluster).
func externalStrategy(name, addr string) balancer.Strategy {
	switch name {
	case "static":
		return balancer.Static{Addrs: []string{addr}}
	case "headless":
		return balancer.Headless{}
	case "xds":
		return &xds.Strategy{}
	case "sidecar":
		return balancer.Sidecar{}
	default:
		return &endpointslice.Strategy{}
	}
}

// reachBound bounds the check that every service answers at the start.
const reachBound = 15 * time.Second

// reach checks that every service answers, with calls that change
// nothing.
func reach(ctx context.Context, cl *clients, targets map[omtest.Service]string) error {
	ctx, cancel := context.WithTimeout(ctx, reachBound)
	defer cancel()
	fe, be, q := omclient.NewFrontend(cl.fe), omclient.NewBackend(cl.be), omclient.NewQuery(cl.q)
	var errs []error
	if _, err := fe.GetTicket(ctx, "soak-reach-check"); err != nil && status.Code(err) != codes.NotFound {
		errs = append(errs, fmt.Errorf("frontend at %s: %w", targets[omtest.ServiceFrontend], err))
	}
	if err := be.ReleaseTickets(ctx, []string{"soak-reach-check"}); err != nil {
		errs = append(errs, fmt.Errorf("backend at %s: %w", targets[omtest.ServiceBackend], err))
	}
	pool := &pb.Pool{Name: "reach-check", TagPresentFilters: []*pb.TagPresentFilter{{Tag: "soak-reach-check"}}}
	if _, err := q.QueryTicketIds(ctx, pool); err != nil {
		errs = append(errs, fmt.Errorf("query at %s: %w", targets[omtest.ServiceQuery], err))
	}
	if len(errs) > 0 {
		return fmt.Errorf("the core does not answer within %v: %w", reachBound, errors.Join(errs...))
	}
	return nil
}

// soak runs everything and writes the report.
func (c config) soak(ctx context.Context, stdout, stderr io.Writer) (*report, error) {
	if err := c.checkEmbedded(); err != nil {
		return nil, err
	}
	start := time.Now()
	rec := timeseries.New(start)
	rep := &report{cfg: c, start: start, rec: rec}

	var (
		cr      *core
		disc    discovery
		mmfs    *mmfReplicas
		canList bool
		targets = map[omtest.Service]string{}
		strats  = map[omtest.Service]balancer.Strategy{}
		fn      *pb.FunctionConfig
	)
	if c.external() {
		targets[omtest.ServiceFrontend], targets[omtest.ServiceBackend], targets[omtest.ServiceQuery] = c.frontend, c.backend, c.query
		for svc, a := range targets {
			strats[svc] = externalStrategy(c.strategy, a)
		}
		fn = &pb.FunctionConfig{Host: c.mmfHost, Port: int32(c.mmfPort), Type: pb.FunctionConfig_GRPC}
	} else {
		var err error
		if cr, err = startCore(c, c.hosts(c.mmfs), stderr); err != nil {
			return nil, err
		}
		defer cr.close()
		mmfs = cr.mmfs
		newDisc := discoveries[c.strategy]
		if c.newDiscovery != nil {
			newDisc = c.newDiscovery
		}
		if disc, err = newDisc(c, cr.replicaAddrs()); err != nil {
			return nil, fmt.Errorf("%s discovery: %w", c.strategy, err)
		}
		defer disc.close()
		if canList, err = disc.list(ctx, omtest.ServiceFrontend, cr.listedAddrs(omtest.ServiceFrontend)); err != nil {
			return nil, err
		}
		for _, svc := range coreServices {
			targets[svc], strats[svc] = disc.target(svc)
		}
		fn = &pb.FunctionConfig{Host: cr.mmfCfg.host, Port: int32(cr.mmfCfg.port), Type: pb.FunctionConfig_GRPC}
	}
	kinds, err := kindsOf(c.faults, possibleFaults(c.external(), disc, canList), c.strategy)
	if err != nil {
		return nil, cli.Usagef("%v", err)
	}
	if c.fitDuration {
		c.duration = needed(kinds, c.timing())
		rep.cfg.duration = c.duration
	}
	rep.kinds = kinds
	schedule, err := plan(kinds, c.duration, c.timing(), c.seed, targetOf(c.mmfs))
	if err != nil {
		return nil, cli.Usagef("%v", err)
	}
	rep.schedule = schedule

	cl, err := connect(targets, strats)
	if err != nil {
		return nil, err
	}
	defer cl.close()
	if err := reach(ctx, cl, targets); err != nil {
		return nil, err
	}
	if c.external() {
		if mmfs, err = startExternalMMFs(c, stderr); err != nil {
			return nil, err
		}
		defer mmfs.close()
	}
	rep.targets = targets
	rep.core = cr
	rep.cl = cl
	c.header(stdout, rep)

	l := newLedger()
	rep.ledger = l
	calls := calls{rec: rec, fail: &failedCalls{}}
	rep.calls = &calls

	arrive, stopArrive := context.WithTimeout(ctx, c.duration)
	defer stopArrive()
	waitEnd, stopWait := context.WithTimeout(ctx, c.duration+c.drain)
	defer stopWait()

	f := &faulter{core: cr, mmfs: mmfs, disc: disc, rec: rec}
	rep.faulter = f
	var bg sync.WaitGroup
	bg.Go(func() { f.run(arrive, start, schedule) })

	dctx, stopDirector := context.WithCancel(context.Background())
	dir := newDirector(omclient.NewBackend(cl.be), fn, c.failEvery, calls, l)
	dir.Observe = func(rpc string, start time.Time, err error) {
		// A FetchMatches cut short by the end of the run is not a failure.
		if err != nil && dctx.Err() != nil {
			return
		}
		calls.observe(rpc, start, err)
	}
	bg.Go(func() { superviseDirector(dctx, dir, stderr) })

	pctx, stopProgress := context.WithCancel(context.Background())
	bg.Go(func() { rep.watchProgress(pctx, stdout) })

	p := &players{fe: omclient.NewFrontend(cl.fe), rate: c.rate, seed: c.seed, patience: c.patience, calls: calls, ledger: l}
	p.run(arrive, waitEnd)
	p.wg.Wait()
	stopDirector()
	stopProgress()
	bg.Wait()
	rep.end = time.Now()
	rep.interrupted = ctx.Err() != nil
	if err := rep.finish(context.WithoutCancel(ctx)); err != nil {
		return rep, err
	}
	if err := rep.write(stdout); err != nil {
		return rep, err
	}
	return rep, nil
}

// superviseDirector runs the director until ctx ends, starting it again
// after a round in which every profile failed, as a supervisor would.
func superviseDirector(ctx context.Context, d *director.Director, log io.Writer) {
	for ctx.Err() == nil {
		if _, err := d.Run(ctx); err != nil && ctx.Err() == nil {
			fmt.Fprintf(log, "soak: %v (starting the director again)\n", err)
			hold(ctx, 500*time.Millisecond)
		}
	}
}

// startExternalMMFs starts the match function replicas for a real
// Open-Match, all on -mmf-port (SO_REUSEPORT).
func startExternalMMFs(c config, log io.Writer) (*mmfReplicas, error) {
	// On the -mmf-host address when it is one, else on every address.
	host := ""
	if net.ParseIP(c.mmfHost) != nil {
		host = c.mmfHost
	}
	addrs := make([]string, c.mmfs)
	for i := range addrs {
		addrs[i] = net.JoinHostPort(host, strconv.Itoa(c.mmfPort))
	}
	return startMMFs(addrs, []string{c.query}, log, "-reuseport")
}
