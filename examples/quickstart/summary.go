package main

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/director"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/players"
	"github.com/meshmatch/meshmatch/examples/internal/progress"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// summary is what a run reports at the end.
type summary struct {
	elapsed    time.Duration
	players    int
	latencies  []time.Duration // of the assigned players
	director   director.Stats
	replicas   []replicaRuns
	core       []coreTable // with core replicas: each service's calls per replica
	strategies []strategyUse
}

type replicaRuns struct {
	addr string
	runs int64
}

// replicaCalls is the calls one replica of the embedded core served.
type replicaCalls struct {
	addr  string
	calls int64
}

// coreTable is the calls of one service's replicas during the run.
type coreTable struct {
	service omtest.Service
	who     string // whose calls they are
	rows    []replicaCalls
}

func (ct coreTable) total() int64 {
	var n int64
	for _, r := range ct.rows {
		n += r.calls
	}
	return n
}

func (ct coreTable) counts() []int64 {
	out := make([]int64, len(ct.rows))
	for i, r := range ct.rows {
		out[i] = r.calls
	}
	return out
}

// spread is max/min of the calls per replica, the figure the SDK's goal
// (≤ 1.05) is stated in; +Inf when a replica got none.
func spread(counts []int64) float64 {
	if len(counts) == 0 {
		return math.NaN()
	}
	lo, hi := slices.Min(counts), slices.Max(counts)
	if lo == 0 {
		return math.Inf(1)
	}
	return float64(hi) / float64(lo)
}

// strategyUse is the strategy one connection used and why.
type strategyUse struct {
	service, strategy, reason, why string
}

// summarize reads the replicas' Run calls (grpc.server.call.started of
// each replica's server) and each connection's strategy
// (meshmatch.strategy.in_use, meshmatch.strategy.decisions) from tel; the
// reason text is the connection's Decision.
func summarize(c config, elapsed time.Duration, out outcome, rs *replicas, svc *services, tel *telemetry) *summary {
	s := &summary{elapsed: elapsed, players: c.players, latencies: players.Latencies(out.results), director: out.director}
	for i, r := range rs.list {
		s.replicas = append(s.replicas, replicaRuns{addr: r.addr(), runs: tel.runs(i)})
	}
	if svc.coreBase != nil {
		who := map[omtest.Service]string{omtest.ServiceFrontend: "the players", omtest.ServiceBackend: "the director", omtest.ServiceQuery: "the match functions"}
		for _, svcName := range coreServices {
			t := coreTable{service: svcName, who: who[svcName]}
			base := svc.coreBase[svcName]
			for i, r := range tel.coreCalls(svcName) {
				t.rows = append(t.rows, replicaCalls{addr: r.addr, calls: r.calls - base[i].calls})
			}
			s.core = append(s.core, t)
		}
	}
	for _, cn := range svc.conns() {
		strategy, kinds := tel.strategyOf(cn.Addr())
		reason := cn.Decision().Reason
		if len(kinds) > 0 {
			reason = strings.Join(kinds, ", ") + ": " + reason
		}
		s.strategies = append(s.strategies, strategyUse{service: cn.name, strategy: strategy, reason: reason, why: cn.why})
	}
	if svc.core == nil {
		s.strategies = append(s.strategies, strategyUse{service: "core → mmf", strategy: "-",
			reason: "dialed by the Open-Match backend itself (dns and round_robin over " + c.mmfHost + ")"})
	}
	return s
}

// printSetup says what runs where.
func printSetup(w io.Writer, c config, rs *replicas, svc *services) {
	switch {
	case svc.core != nil && svc.coreNote != "":
		fmt.Fprintf(w, "embedded Open-Match core, %d replicas of each service over one state (registration window %v): %s\n",
			len(svc.core.ReplicaAddrs(omtest.ServiceFrontend)), registrationWindow, svc.coreNote)
		for _, s := range coreServices {
			fmt.Fprintf(w, "  %-8s %v\n", s, svc.core.ReplicaAddrs(s))
		}
	case svc.core != nil:
		fmt.Fprintf(w, "embedded Open-Match core on %s (registration window %v)\n", svc.core.Addr(), registrationWindow)
	default:
		fmt.Fprintf(w, "Open-Match at frontend %s, backend %s, query %s\n", c.frontend, c.backend, c.query)
	}
	fmt.Fprintf(w, "match function replicas %v: %s\n", rs.addrs(), rs.note)
	fmt.Fprintf(w, "director: %d profiles per round, match function at %s:%d\n", len(game.Profiles()), c.mmfHost, rs.port)
	rate := "once"
	if c.rate > 0 {
		rate = fmt.Sprintf("%g per second", c.rate)
	}
	fmt.Fprintf(w, "%d players arriving at %s\n", c.players, rate)
}

// print writes the totals, the latencies, the replicas' shares and every
// connection's strategy.
func (s *summary) print(w io.Writer) {
	d := s.director
	fmt.Fprintf(w, "\nsummary after %v\n", s.elapsed.Round(10*time.Millisecond))
	fmt.Fprintf(w, "  tickets:    %d players, %d assigned\n", s.players, len(s.latencies))
	fmt.Fprintf(w, "  matches:    %d in %d director rounds; %d allocations failed, their %d tickets released and matched again\n",
		d.Matches, d.Rounds, d.AllocFailures, d.Released)
	fmt.Fprintf(w, "  latency:    p50 %v  p99 %v  max %v  (ticket created → assignment seen by the watch)\n",
		s.percentile(50), s.percentile(99), s.percentile(100))
	total := s.totalRuns()
	fmt.Fprintf(w, "  mmf Run calls per replica (%d in all, spread max/min %.2f):\n", total, spread(s.runCounts()))
	for _, r := range s.replicas {
		fmt.Fprintf(w, "    %-18s %5d  %5.1f%%\n", r.addr, r.runs, 100*s.share(r))
	}
	for _, t := range s.core {
		fmt.Fprintf(w, "  core %s calls per replica, from %s (%d in all, spread max/min %.2f):\n", t.service, t.who, t.total(), spread(t.counts()))
		for _, r := range t.rows {
			fmt.Fprintf(w, "    %-18s %5d  %5.1f%%\n", r.addr, r.calls, 100*float64(r.calls)/float64(max(t.total(), 1)))
		}
	}
	fmt.Fprintln(w, "  strategies:")
	for _, u := range s.strategies {
		fmt.Fprintf(w, "    %-10s  %-8s  %s\n", u.service, u.strategy, u.reason)
		if u.why != "" {
			fmt.Fprintf(w, "    %-10s  %-8s  why: %s\n", "", "", u.why)
		}
	}
}

func (s *summary) percentile(p float64) time.Duration {
	return progress.Percentile(s.latencies, p).Round(time.Millisecond)
}

func (s *summary) runCounts() []int64 {
	out := make([]int64, len(s.replicas))
	for i, r := range s.replicas {
		out[i] = r.runs
	}
	return out
}

func (s *summary) totalRuns() int64 {
	var total int64
	for _, r := range s.replicas {
		total += r.runs
	}
	return total
}

// share is the replica's fraction of all Run calls.
func (s *summary) share(r replicaRuns) float64 {
	total := s.totalRuns()
	if total == 0 {
		return 0
	}
	return float64(r.runs) / float64(total)
}
