package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"syscall"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/omclient"
)

// replicaIPs are where the three match function replicas listen, one port
// for all, as three pods of a headless Service would.
var replicaIPs = []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}

// replica is one match function server; what it served is in its meter
// (telemetry.runs, telemetry.checks).
type replica struct {
	lis net.Listener
	srv *omclient.Server
}

func (r *replica) addr() string { return r.lis.Addr().String() }

// replicas are the three match function servers.
type replicas struct {
	list []*replica
	// sameIPs is true when the replicas share a port on three addresses, so
	// one DNS name can list them; false after falling back to three ports on
	// 127.0.0.1.
	sameIPs bool
	port    int    // the first replica's port
	note    string // why they are placed as they are

	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

// listenReplicas listens on 127.0.0.1, .2 and .3 with one port. When the
// system cannot bind 127.0.0.2 (macOS has only 127.0.0.1 by default) it
// falls back to three ports on 127.0.0.1. A free port that is taken on .2 or
// .3 is retried with another.
func listenReplicas(listen listenFunc, port int) (*replicas, error) {
	for attempt := 1; ; attempt++ {
		ls, err := listenSamePort(listen, port)
		var other *otherIPError
		switch {
		case err == nil:
			return newReplicas(ls, true, fmt.Sprintf("one port on %d loopback addresses, like the pods of a headless Service", len(ls))), nil
		case !errors.As(err, &other), errors.Is(err, syscall.EADDRINUSE) && (port != 0 || attempt == 5):
			return nil, fmt.Errorf("match function replicas: %w", err)
		case errors.Is(err, syscall.EADDRINUSE):
			continue
		default:
			return listenOnePort(listen, port, fmt.Sprintf(
				"fallback: %v, so the replicas use three ports on %s; no DNS name can list them, so the core uses the static strategy",
				other, replicaIPs[0]))
		}
	}
}

// listenFunc is net.Listen's signature.
type listenFunc func(network, addr string) (net.Listener, error)

// otherIPError is a failure to listen on a replica address past the first.
type otherIPError struct {
	ip  string
	err error
}

func (e *otherIPError) Error() string { return fmt.Sprintf("cannot listen on %s: %v", e.ip, e.err) }
func (e *otherIPError) Unwrap() error { return e.err }

// listenSamePort listens on every replica address with the port the first
// one gets.
func listenSamePort(listen listenFunc, port int) ([]net.Listener, error) {
	first, err := listen("tcp", net.JoinHostPort(replicaIPs[0], strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	p := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
	ls := []net.Listener{first}
	for _, ip := range replicaIPs[1:] {
		l, err := listen("tcp", net.JoinHostPort(ip, p))
		if err != nil {
			closeAll(ls)
			return nil, &otherIPError{ip: ip, err: err}
		}
		ls = append(ls, l)
	}
	return ls, nil
}

// listenOnePort listens on three ports of 127.0.0.1.
func listenOnePort(listen listenFunc, port int, note string) (*replicas, error) {
	var ls []net.Listener
	for i := range replicaIPs {
		p := 0
		if i == 0 {
			p = port
		}
		l, err := listen("tcp", net.JoinHostPort(replicaIPs[0], strconv.Itoa(p)))
		if err != nil {
			closeAll(ls)
			return nil, fmt.Errorf("match function replicas: %w", err)
		}
		ls = append(ls, l)
	}
	return newReplicas(ls, false, note), nil
}

func newReplicas(ls []net.Listener, sameIPs bool, note string) *replicas {
	rs := &replicas{sameIPs: sameIPs, note: note, port: ls[0].Addr().(*net.TCPAddr).Port}
	for _, l := range ls {
		rs.list = append(rs.list, &replica{lis: l})
	}
	return rs
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}

func (rs *replicas) addrs() []string {
	out := make([]string, len(rs.list))
	for i, r := range rs.list {
		out[i] = r.addr()
	}
	return out
}

func (rs *replicas) ips() []string {
	out := make([]string, len(rs.list))
	for i, r := range rs.list {
		out[i] = r.lis.Addr().(*net.TCPAddr).IP.String()
	}
	return out
}

// serve starts every replica's match function server: the team rules over
// pools read through q, each server recording grpc-go's server metrics in a
// meter of its own from tel.
func (rs *replicas) serve(q *omclient.Query, rules game.Rules, tel *telemetry) error {
	for _, r := range rs.list {
		opts, err := tel.addReplica(r.addr())
		if err != nil {
			return err
		}
		r.srv = omclient.NewMatchFunctionServer(q, rules.MatchFunc(), opts...)
		rs.wg.Go(func() {
			if err := r.srv.Serve(r.lis); err != nil {
				rs.mu.Lock()
				rs.errs = append(rs.errs, fmt.Errorf("match function replica %s: %w", r.addr(), err))
				rs.mu.Unlock()
			}
		})
	}
	return nil
}

// warmUp sends health checks through cc, the core's connection to the
// replicas, until every replica has answered one. round_robin only picks
// READY backends, so afterwards all three are READY and Run calls spread
// evenly from the first round on. It returns the number of checks sent.
func (rs *replicas) warmUp(ctx context.Context, cc grpc.ClientConnInterface, tel *telemetry) (int, error) {
	n, err := warmUp(ctx, cc, func() bool { return rs.allChecked(tel) })
	if err != nil {
		return n, fmt.Errorf("match function replicas not all reachable: %w", err)
	}
	return n, nil
}

// warmUp sends health checks through cc until done reports that every
// backend behind it has answered one, and returns how many it sent.
func warmUp(ctx context.Context, cc grpc.ClientConnInterface, done func() bool) (int, error) {
	hc := healthpb.NewHealthClient(cc)
	sent := 0
	for !done() {
		sent++
		if _, err := hc.Check(ctx, &healthpb.HealthCheckRequest{}, grpc.WaitForReady(true)); err != nil {
			return sent, err
		}
	}
	return sent, nil
}

func (rs *replicas) allChecked(tel *telemetry) bool {
	for i := range rs.list {
		if tel.checks(i) == 0 {
			return false
		}
	}
	return true
}

// close stops every replica gracefully (bounded by ctx) and returns the
// errors their servers met.
func (rs *replicas) close(ctx context.Context) error {
	for _, r := range rs.list {
		if r.srv == nil {
			_ = r.lis.Close()
			continue
		}
		if err := r.srv.Shutdown(ctx); err != nil {
			rs.mu.Lock()
			rs.errs = append(rs.errs, fmt.Errorf("match function replica %s: shutdown: %w", r.addr(), err))
			rs.mu.Unlock()
		}
	}
	rs.wg.Wait()
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return errors.Join(rs.errs...)
}
