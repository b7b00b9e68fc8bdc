package omtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"syscall"
)

// Service names one of the core's services.
type Service string

// The core's services, as ReplicaInfo and the replica methods name them.
const (
	ServiceFrontend Service = "frontend"
	ServiceBackend  Service = "backend"
	ServiceQuery    Service = "query"
)

// Open-Match's standard gRPC ports (install/helm/open-match/values.yaml).
const (
	FrontendPort = 50504
	BackendPort  = 50505
	QueryPort    = 50503
)

// Replicas makes a core serve its frontend, backend and query services as
// Count replicas each, every replica on its own address, all sharing the
// core's one state and one synchronizer, as Open-Match's stateless
// frontend, backend and query pods share one Redis and one synchronizer
// (its Helm chart runs 3 of each behind headless Services). Each replica
// can be stopped, drained and restarted on its own (Server.StopReplica,
// DrainReplica, RestartReplica), so that client-side balancing and
// failover can be tried locally.
type Replicas struct {
	// Count is how many replicas each service runs. It must be at least 1.
	Count int
	// FrontendAddrs, BackendAddrs and QueryAddrs, when set, are the listen
	// addresses of the replicas, Count of each. An unset list puts replica i
	// on the address i after the host of Config.FrontendAddr (BackendAddr,
	// QueryAddr), default 127.0.0.1: 127.0.0.1, 127.0.0.2, 127.0.0.3…, all on
	// that address's port, as the pods behind a headless Service share one.
	// Port 0 picks one free port that every replica of the service uses.
	// (On Linux every address of 127.0.0.0/8 is local; macOS has only
	// 127.0.0.1 unless aliases are added.)
	FrontendAddrs, BackendAddrs, QueryAddrs []string
}

// ReplicaInfo describes one of the core's gRPC servers.
type ReplicaInfo struct {
	// Services are the services it serves: one for a replica, all three
	// for the single listener of Config.Addr.
	Services []Service
	// Index is its place among the replicas of its service, from 0.
	Index int
	// Addr is where it listens ("host:port"), also while stopped.
	Addr string
	// Running is false while it drains and once it was stopped or drained.
	Running bool
}

// replicaPlan is one replica to start: its services, index and address.
type replicaPlan struct {
	services []Service
	index    int
	addr     string
	shared   bool // addr's port 0 means the port replica 0 of the service got
}

// replicaPlans lists the replicas cfg asks for: the single listener, one
// per service, or Count per service.
func replicaPlans(cfg Config) ([]replicaPlan, error) {
	orLoopback := func(a string) string {
		if a == "" {
			return "127.0.0.1:0"
		}
		return a
	}
	if cfg.Replicas == nil {
		if cfg.FrontendAddr == "" && cfg.BackendAddr == "" && cfg.QueryAddr == "" {
			return []replicaPlan{{services: []Service{ServiceFrontend, ServiceBackend, ServiceQuery}, addr: orLoopback(cfg.Addr)}}, nil
		}
		return []replicaPlan{
			{services: []Service{ServiceFrontend}, addr: orLoopback(cfg.FrontendAddr)},
			{services: []Service{ServiceBackend}, addr: orLoopback(cfg.BackendAddr)},
			{services: []Service{ServiceQuery}, addr: orLoopback(cfg.QueryAddr)},
		}, nil
	}
	n := cfg.Replicas.Count
	if n < 1 {
		return nil, fmt.Errorf("omtest: replicas: count must be at least 1, got %d", n)
	}
	var plans []replicaPlan
	for _, svc := range []struct {
		name  Service
		base  string
		addrs []string
	}{
		{ServiceFrontend, cfg.FrontendAddr, cfg.Replicas.FrontendAddrs},
		{ServiceBackend, cfg.BackendAddr, cfg.Replicas.BackendAddrs},
		{ServiceQuery, cfg.QueryAddr, cfg.Replicas.QueryAddrs},
	} {
		addrs, shared, err := serviceAddrs(svc.name, orLoopback(svc.base), svc.addrs, n)
		if err != nil {
			return nil, err
		}
		for i, a := range addrs {
			plans = append(plans, replicaPlan{services: []Service{svc.name}, index: i, addr: a, shared: shared && i > 0})
		}
	}
	return plans, nil
}

// serviceAddrs returns the n addresses of svc's replicas: given, or
// consecutive hosts from base's. shared is true when they take their port
// from replica 0 (base port 0).
func serviceAddrs(svc Service, base string, given []string, n int) (addrs []string, shared bool, err error) {
	if len(given) > 0 {
		if len(given) != n {
			return nil, false, fmt.Errorf("omtest: replicas: %d %s addresses for %d replicas", len(given), svc, n)
		}
		return given, false, nil
	}
	host, port, err := net.SplitHostPort(base)
	if err != nil {
		return nil, false, fmt.Errorf("omtest: replicas: %s address %q: %w", svc, base, err)
	}
	if n == 1 {
		return []string{base}, false, nil
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.Is4() {
		return nil, false, fmt.Errorf("omtest: replicas: %s address %q: the host must be an IPv4 address to place %d replicas on consecutive addresses; list them in Replicas.%sAddrs",
			svc, base, n, exported(svc))
	}
	for range n {
		if !ip.IsValid() || !ip.Is4() {
			return nil, false, fmt.Errorf("omtest: replicas: %s: no %d consecutive IPv4 addresses from %s", svc, n, host)
		}
		addrs = append(addrs, net.JoinHostPort(ip.String(), port))
		ip = ip.Next()
	}
	return addrs, port == "0", nil
}

func exported(svc Service) string {
	switch svc {
	case ServiceFrontend:
		return "Frontend"
	case ServiceBackend:
		return "Backend"
	default:
		return "Query"
	}
}

// listenPlans listens on every plan's address, in order.
func listenPlans(plans []replicaPlan) ([]net.Listener, error) {
	var ls []net.Listener
	for start := 0; start < len(plans); {
		end := start + 1
		for end < len(plans) && plans[end].shared {
			end++
		}
		group, err := listenGroup(plans[start:end])
		if err != nil {
			closeAll(ls)
			return nil, err
		}
		ls = append(ls, group...)
		start = end
	}
	return ls, nil
}

// maxSharedPortTries bounds the free ports listenGroup tries.
const maxSharedPortTries = 5

// listenGroup listens on one plan and the shared plans after it, which use
// the port the first one got. When another program holds that port on one
// of their addresses, it starts over with a new free port.
func listenGroup(ps []replicaPlan) ([]net.Listener, error) {
	for try := 1; ; try++ {
		ls, retry, err := listenGroupOnce(ps)
		if err == nil || !retry || try == maxSharedPortTries {
			return ls, err
		}
	}
}

func listenGroupOnce(ps []replicaPlan) (ls []net.Listener, retry bool, err error) {
	first, err := net.Listen("tcp", ps[0].addr)
	if err != nil {
		return nil, false, fmt.Errorf("omtest: listen on %s: %w", ps[0].addr, err)
	}
	ls = []net.Listener{first}
	port := strconv.Itoa(first.Addr().(*net.TCPAddr).Port)
	for _, p := range ps[1:] {
		host, _, _ := net.SplitHostPort(p.addr)
		addr := net.JoinHostPort(host, port)
		lis, err := net.Listen("tcp", addr)
		if err != nil {
			closeAll(ls)
			return nil, errors.Is(err, syscall.EADDRINUSE), fmt.Errorf("omtest: listen on %s: %w", addr, err)
		}
		ls = append(ls, lis)
	}
	return ls, false, nil
}

func closeAll(ls []net.Listener) {
	for _, l := range ls {
		_ = l.Close()
	}
}

// ErrNoReplica is wrapped by the error of a replica method given a service
// or index that names no replica.
var ErrNoReplica = errors.New("no such replica")

// Replicas describes every gRPC server of the core, frontend replicas first,
// then backend, then query.
func (s *Server) Replicas() []ReplicaInfo {
	out := make([]ReplicaInfo, len(s.replicas))
	for i, r := range s.replicas {
		out[i] = r.info()
	}
	return out
}

// ReplicaAddrs returns the addresses of svc's replicas by index, running or
// not.
func (s *Server) ReplicaAddrs(svc Service) []string {
	var out []string
	for _, r := range s.replicas {
		if r.serves(svc) {
			out = append(out, r.addr)
		}
	}
	return out
}

// StopReplica stops replica i of svc at once, like a killed pod: its
// listener closes and its connections are reset, with no GOAWAY, so calls
// in flight on it fail on the client side. The other replicas keep serving.
// Stopping a replica that is stopped, or that does not exist, is an error.
// Where one listener serves every service (Config.Addr), it stops them all.
func (s *Server) StopReplica(svc Service, i int) error {
	r, err := s.replica(svc, i)
	if err != nil {
		return err
	}
	return r.stop()
}

// DrainReplica stops replica i of svc gracefully, like a pod being deleted:
// its health service reports NOT_SERVING, every connection gets GOAWAY, no
// new call is accepted and the calls in flight may finish. If ctx ends
// first, the replica is stopped at once (as after a pod's termination grace
// period). It returns when the replica has stopped.
func (s *Server) DrainReplica(ctx context.Context, svc Service, i int) error {
	r, err := s.replica(svc, i)
	if err != nil {
		return err
	}
	return r.drain(ctx)
}

// RestartReplica serves replica i of svc again on its address, with a new
// gRPC server over the same state. It fails, changing nothing, when the
// replica is running or draining, when it does not exist, when the core is
// closed, or when the address is now taken (the error names the address).
func (s *Server) RestartReplica(svc Service, i int) error {
	r, err := s.replica(svc, i)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return errServerClosed
	}
	return r.restart(s.serveFailed)
}

var errServerClosed = errors.New("omtest: server closed")

// replica finds replica i of svc.
func (s *Server) replica(svc Service, i int) (*replica, error) {
	switch svc {
	case ServiceFrontend, ServiceBackend, ServiceQuery:
	default:
		return nil, fmt.Errorf("omtest: unknown service %q (want %s, %s or %s): %w", svc, ServiceFrontend, ServiceBackend, ServiceQuery, ErrNoReplica)
	}
	var found []*replica
	for _, r := range s.replicas {
		if r.serves(svc) {
			found = append(found, r)
		}
	}
	if i < 0 || i >= len(found) {
		return nil, fmt.Errorf("omtest: no replica %s/%d: %s has %d (0 to %d): %w", svc, i, svc, len(found), len(found)-1, ErrNoReplica)
	}
	return found[i], nil
}
