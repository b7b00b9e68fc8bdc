package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/examples/internal/cli"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// coreServices are the core's services in the order the summary shows them.
var coreServices = []omtest.Service{omtest.ServiceFrontend, omtest.ServiceBackend, omtest.ServiceQuery}

// listedReplicas is how many replicas of each service discovery lists at
// the start; one more (the last) starts stopped, for the add fault.
const listedReplicas = 3

// mmfName is the name the core reaches the match function replicas at.
const mmfName = "mmf.soak.test"

// core is the embedded in-memory core: listedReplicas+1 replicas of each
// service over one state, the match function replicas it dials by a name
// in a loopback DNS server of its own, and which replicas discovery lists.
type core struct {
	srv    *omtest.Server
	mmfDNS *dnstest.Server
	mmfs   *mmfReplicas
	mmfCfg mmfTarget

	mu     sync.Mutex
	listed map[omtest.Service][]int // replica indexes discovery lists
}

// mmfTarget is where FetchMatches tells the core its match function is.
type mmfTarget struct {
	host string
	port int
}

// hosts are the addresses the run puts its servers on: the core's
// replicas, then the match function replicas.
type hosts struct {
	core []string // listedReplicas+1 hosts, one port per service (0: free)
	mmf  []string
	// corePorts, when set, are the ports of frontend, backend and query.
	corePorts [3]int
}

// loopbackHosts are 127.0.0.1… for the core and 127.0.0.11… for the match
// functions.
func loopbackHosts(mmfs int) hosts {
	h := hosts{}
	for i := range listedReplicas + 1 {
		h.core = append(h.core, fmt.Sprintf("127.0.0.%d", i+1))
	}
	for i := range mmfs {
		h.mmf = append(h.mmf, fmt.Sprintf("127.0.0.%d", i+11))
	}
	return h
}

// startCore starts the core, its match function replicas and their DNS
// name, with the last replica of every service stopped.
func startCore(c config, h hosts, log io.Writer) (cr *core, err error) {
	cr = &core{listed: map[omtest.Service][]int{}}
	defer func() {
		if err != nil {
			cr.close()
		}
	}()
	if cr.mmfDNS, err = dnstest.Start(); err != nil {
		return nil, fmt.Errorf("dns server of the match functions: %w", err)
	}
	port, err := freePort(h.mmf[0])
	if err != nil {
		return nil, err
	}
	cr.mmfCfg = mmfTarget{host: mmfName, port: port}
	cr.mmfDNS.Set(mmfName, h.mmf...)
	reps := &omtest.Replicas{Count: listedReplicas + 1}
	addrsOf := func(port int) []string {
		out := make([]string, len(h.core))
		for i, host := range h.core {
			out[i] = net.JoinHostPort(host, strconv.Itoa(port))
		}
		return out
	}
	if h.corePorts[0] != 0 {
		reps.FrontendAddrs, reps.BackendAddrs, reps.QueryAddrs = addrsOf(h.corePorts[0]), addrsOf(h.corePorts[1]), addrsOf(h.corePorts[2])
	}
	mmfDNS := cr.mmfDNS.Addr()
	cfg := omtest.Config{
		FrontendAddr: net.JoinHostPort(h.core[0], "0"), BackendAddr: net.JoinHostPort(h.core[0], "0"), QueryAddr: net.JoinHostPort(h.core[0], "0"),
		Replicas: reps,
		// Open-Match's Helm chart's synchronizer windows, which a
		// cluster install runs with.
		RegistrationInterval:       omtest.HelmRegistrationInterval,
		ProposalCollectionInterval: omtest.HelmProposalCollectionInterval,
		TicketRecords:              true,
		Dialer: func(target string) (grpc.ClientConnInterface, io.Closer, error) {
			cc, err := omclient.NewConn(target, omclient.WithStrategy(balancer.Headless{DNS: balancer.DNS{Server: mmfDNS, RefreshInterval: defaultRefresh}}))
			return cc, cc, err
		},
	}
	if cr.srv, err = omtest.Start(cfg); err != nil {
		return nil, fmt.Errorf("core: %w", err)
	}
	for _, svc := range coreServices {
		if err := cr.srv.StopReplica(svc, listedReplicas); err != nil {
			return nil, err
		}
		cr.listed[svc] = []int{0, 1, 2}
	}
	mmfAddrs := make([]string, len(h.mmf))
	for i, host := range h.mmf {
		mmfAddrs[i] = net.JoinHostPort(host, strconv.Itoa(port))
	}
	if cr.mmfs, err = startMMFs(mmfAddrs, cr.listedAddrs(omtest.ServiceQuery), log); err != nil {
		return nil, err
	}
	return cr, nil
}

// freePort returns a port free on host.
func freePort(host string) (int, error) {
	lis, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer lis.Close()
	return lis.Addr().(*net.TCPAddr).Port, nil
}

// listedAddrs are the addresses discovery lists for svc.
func (cr *core) listedAddrs(svc omtest.Service) []string {
	cr.mu.Lock()
	defer cr.mu.Unlock()
	all := cr.srv.ReplicaAddrs(svc)
	var out []string
	for _, i := range cr.listed[svc] {
		out = append(out, all[i])
	}
	return out
}

// setListed changes which replicas of svc discovery lists.
func (cr *core) setListed(ctx context.Context, d discovery, svc omtest.Service, idx []int) (bool, error) {
	cr.mu.Lock()
	cr.listed[svc] = idx
	cr.mu.Unlock()
	return d.list(ctx, svc, cr.listedAddrs(svc))
}

// replicaAddrs are every replica of every service.
func (cr *core) replicaAddrs() map[omtest.Service][]string {
	out := map[omtest.Service][]string{}
	for _, svc := range coreServices {
		out[svc] = cr.listedAddrs(svc)
	}
	return out
}

func (cr *core) close() {
	if cr.mmfs != nil {
		cr.mmfs.close()
	}
	if cr.srv != nil {
		_ = cr.srv.Close()
	}
	if cr.mmfDNS != nil {
		cr.mmfDNS.Close()
	}
}

// drainBound is how long a draining replica's calls in flight may finish,
// as a pod's termination grace period; long watches are cut then.
var drainBound = cli.ShutdownTimeout
