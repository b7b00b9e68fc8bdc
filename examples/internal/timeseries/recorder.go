package timeseries

import (
	"maps"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc/codes"
)

// Recorder buckets call outcomes by the whole second since its start. It is
// safe for concurrent use; Observe, which runs once per call, takes one
// mutex and keeps no per-call state.
type Recorder struct {
	start time.Time

	mu         sync.Mutex
	secs       []bucketed // index: second since start
	byMethod   map[string]map[codes.Code]int
	strategies []change // by second; at most one per second
	faults     []Fault
}

// bucketed is what one second holds.
type bucketed struct {
	calls int
	errs  map[codes.Code]int // nil until the second's first error
	lat   *hist              // nil until the second's first call
}

// change is a strategy taking over at a second.
type change struct {
	sec  int
	name string
}

// Fault is a fault window: a fault of Kind (such as "kill" or "partition")
// on Target (a replica, a service) from Start to End. A zero End means the
// window is still open.
type Fault struct {
	Kind, Target string
	Start, End   time.Time
}

// Second is one second of a run.
type Second struct {
	At       time.Duration      // offset of the second from the start: 0s, 1s, …
	Calls    int                // calls that completed in this second
	Errors   map[codes.Code]int // completions other than OK, by code; nil when none
	P50, P99 time.Duration      // latency quantiles of those calls, 0 when none
	Strategy string             // strategy in use, "" before the first SetStrategy
	Faults   []string           // "kind target" of every fault window overlapping the second
}

// ErrorCount returns the number of calls of the second that failed.
func (s Second) ErrorCount() int {
	n := 0
	for _, c := range s.Errors {
		n += c
	}
	return n
}

// New returns a Recorder whose second 0 begins at start.
func New(start time.Time) *Recorder {
	return &Recorder{start: start, byMethod: map[string]map[codes.Code]int{}}
}

// Start returns the start the Recorder was created with.
func (r *Recorder) Start() time.Time { return r.start }

// sec returns the second at is in; times before the start count in second 0.
func (r *Recorder) sec(at time.Time) int {
	return max(int(at.Sub(r.start)/time.Second), 0)
}

// Observe records a call of method ("/package.Service/Method") that
// completed at at with code after latency.
func (r *Recorder) Observe(at time.Time, method string, code codes.Code, latency time.Duration) {
	s, b := r.sec(at), bucket(latency)
	r.mu.Lock()
	defer r.mu.Unlock()
	if s >= len(r.secs) {
		r.secs = append(r.secs, make([]bucketed, s+1-len(r.secs))...)
	}
	sb := &r.secs[s]
	sb.calls++
	if sb.lat == nil {
		sb.lat = new(hist)
	}
	sb.lat[b]++
	if code != codes.OK {
		if sb.errs == nil {
			sb.errs = map[codes.Code]int{}
		}
		sb.errs[code]++
	}
	m := r.byMethod[method]
	if m == nil {
		m = map[codes.Code]int{}
		r.byMethod[method] = m
	}
	m[code]++
}

// SetStrategy records that the strategy name is in use from the second of
// at on. The last call for a second wins.
func (r *Recorder) SetStrategy(at time.Time, name string) {
	s := r.sec(at)
	r.mu.Lock()
	defer r.mu.Unlock()
	i, found := slices.BinarySearchFunc(r.strategies, s, func(c change, s int) int { return c.sec - s })
	if found {
		r.strategies[i].name = name
		return
	}
	r.strategies = slices.Insert(r.strategies, i, change{sec: s, name: name})
}

// Mark records a fault window. Marking a window with the Kind, Target and
// Start of one already marked replaces it: that is how an open window
// (zero End) is closed.
func (r *Recorder) Mark(f Fault) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i, g := range r.faults {
		if g.Kind == f.Kind && g.Target == f.Target && g.Start.Equal(f.Start) {
			r.faults[i] = f
			return
		}
	}
	r.faults = append(r.faults, f)
}

// Faults returns the fault windows marked so far, in the order first marked.
func (r *Recorder) Faults() []Fault {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.faults)
}

// ByMethod returns the number of calls of each method by code, OK included.
func (r *Recorder) ByMethod() map[string]map[codes.Code]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]map[codes.Code]int, len(r.byMethod))
	for m, byCode := range r.byMethod {
		out[m] = maps.Clone(byCode)
	}
	return out
}

// Seconds returns every second from 0 to the last one a call completed in,
// seconds without calls included (as rows of zeros). It returns nil before
// the first Observe.
func (r *Recorder) Seconds() []Second {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Second, len(r.secs))
	strat := 0
	for s, b := range r.secs {
		for strat < len(r.strategies) && r.strategies[strat].sec <= s {
			strat++
		}
		sec := Second{At: time.Duration(s) * time.Second, Calls: b.calls, Errors: maps.Clone(b.errs)}
		if b.lat != nil {
			sec.P50 = b.lat.quantile(0.50, b.calls)
			sec.P99 = b.lat.quantile(0.99, b.calls)
		}
		if strat > 0 {
			sec.Strategy = r.strategies[strat-1].name
		}
		sec.Faults = r.faultsIn(sec.At)
		out[s] = sec
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// faultsIn returns the "kind target" of the faults overlapping the second
// at offset at, in the order marked.
func (r *Recorder) faultsIn(at time.Duration) []string {
	var out []string
	for _, f := range r.faults {
		if overlaps(f, r.start.Add(at), r.start.Add(at+time.Second)) {
			out = append(out, f.Kind+" "+f.Target)
		}
	}
	return out
}

// overlaps reports whether f's window meets [from, to). A window that ends
// where it starts is the instant of its start; an open one never ends.
func overlaps(f Fault, from, to time.Time) bool {
	if !f.Start.Before(to) {
		return false
	}
	if f.End.IsZero() {
		return true
	}
	if !f.End.After(f.Start) {
		return !f.Start.Before(from)
	}
	return f.End.After(from)
}
