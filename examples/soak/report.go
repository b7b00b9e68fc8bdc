package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/examples/internal/timeseries"
	"github.com/meshmatch/meshmatch/internal/telemetry"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// report is a run's outcome.
type report struct {
	cfg        config
	start, end time.Time
	rec        *timeseries.Recorder
	schedule   []fault
	kinds      []string
	targets    map[omtest.Service]string
	core       *core // nil with a real Open-Match
	cl         *clients
	ledger     *ledger
	calls      *calls
	faulter    *faulter

	interrupted bool

	// Filled by finish.
	counts   counts
	faults   []done
	failures map[bool]map[string]map[codes.Code]int // inside a window → rpc → code → calls
	resumes  int64
	retries  int64
	moves    int64
}

// counts are the soak's verdict.
type counts struct {
	serverSide bool // from the core's records too, not only the clients'

	created, createFailed, seen, gaveUp, deleted int
	assignedCore, assignedDirector               int
	stored, unknown, phantom                     int

	lost, duplicated, unseen int
	outside                  int // failed calls outside every fault window
}

// header prints what the run is, so that it can be repeated.
func (c config) header(w io.Writer, rep *report) {
	fmt.Fprintf(w, "soak: strategy %s, seed %d, %s, duration %v (+ drain up to %v), %.0f players/s, %d match function processes\n",
		c.strategy, c.seed, version(), c.duration, c.drain, c.rate, c.mmfs)
	if rep.core != nil {
		for _, svc := range coreServices {
			fmt.Fprintf(w, "soak: core %s: replicas %s (the last starts stopped), clients dial %s\n",
				svc, strings.Join(rep.core.srv.ReplicaAddrs(svc), " "), rep.targets[svc])
		}
	} else {
		fmt.Fprintf(w, "soak: a real Open-Match: frontend %s, backend %s, query %s; its records cannot be read here, every count is the clients'\n",
			c.frontend, c.backend, c.query)
	}
	fmt.Fprintf(w, "soak: %d faults on the schedule of seed %d:", len(rep.schedule), c.seed)
	for _, f := range rep.schedule {
		fmt.Fprintf(w, " %v@%v", f, f.At)
	}
	fmt.Fprintln(w)
}

// version is the module's version and VCS revision, when the build has them.
func version() string {
	v := "version (devel)"
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = "version " + bi.Main.Version
		}
		var rev, dirty string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					dirty = "+dirty"
				}
			}
		}
		if rev != "" {
			v += " rev " + rev[:min(12, len(rev))] + dirty
		}
	}
	return v + ", " + runtime.Version()
}

// watchProgress sets the strategy in use every second and prints a line
// every -progress.
func (rep *report) watchProgress(ctx context.Context, w io.Writer) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			rep.rec.SetStrategy(now, rep.cl.fe.Decision().Strategy)
			if now.Sub(last) < rep.cfg.progress {
				continue
			}
			last = now
			l := rep.ledger
			l.mu.Lock()
			created, waiting, failed := len(l.tickets), l.waiting, l.createFailed
			l.mu.Unlock()
			fmt.Fprintf(w, "soak: %4.0fs created %d, waiting %d, create failures %d, strategy %s\n",
				now.Sub(rep.start).Seconds(), created, waiting, failed, rep.cl.fe.Decision().Strategy)
		}
	}
}

// finish gathers the counts once everything stopped.
func (rep *report) finish(ctx context.Context) error {
	rep.faults = rep.faulter.history()
	// The chart shades each fault's counting window: to grace after it was
	// undone.
	grace := rep.cfg.timing().grace
	for _, d := range rep.faults {
		rep.rec.Mark(timeseries.Fault{Kind: d.Kind, Target: d.Target, Start: d.start, End: d.end.Add(grace)})
	}
	rep.classifyFailures()
	rep.readSDKCounters(ctx)

	l := rep.ledger
	l.mu.Lock()
	defer l.mu.Unlock()
	c := &rep.counts
	c.created, c.createFailed, c.assignedDirector = len(l.tickets), l.createFailed, len(l.assigned)
	lost := map[string]bool{}
	unseen := map[string]bool{}
	for id, t := range l.tickets {
		switch {
		case t.seen != "":
			c.seen++
		case t.gaveUp:
			c.gaveUp++
		}
		if t.deleted {
			c.deleted++
		}
		if t.seen == "" && !t.deleted {
			lost[id] = true
		}
	}
	for id := range l.assigned {
		if t := l.tickets[id]; t == nil || t.seen == "" {
			unseen[id] = true
		}
	}
	if rep.core != nil {
		c.serverSide = true
		recs := rep.core.srv.TicketRecords()
		inCore := map[string]bool{}
		for _, r := range recs {
			inCore[r.ID] = true
			c.stored++
			if l.tickets[r.ID] == nil {
				c.unknown++
			}
			if r.Assignments > 0 {
				c.assignedCore++
				if t := l.tickets[r.ID]; t == nil || t.seen == "" {
					unseen[r.ID] = true
				}
			} else if r.Stored() {
				lost[r.ID] = true
			}
		}
		for id := range l.tickets {
			if !inCore[id] {
				c.phantom++
			}
		}
		// Every successful CreateTicket's id is known to its player, so
		// the tickets stored beyond them are those no client knows.
		c.duplicated = c.unknown
	} else {
		n, err := rep.unknownActive(ctx)
		if err != nil {
			return fmt.Errorf("count the tickets still stored: %w", err)
		}
		c.unknown = n
		c.duplicated = n
	}
	c.lost, c.unseen = len(lost), len(unseen)
	return nil
}

// unknownActive counts the tickets a real Open-Match still lists that no
// player of this run knows: with every player finished, each is a ticket
// stored beyond the successful CreateTicket calls (or another client's).
func (rep *report) unknownActive(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	ids, err := omclient.NewQuery(rep.cl.q).QueryTicketIds(ctx, &pb.Pool{Name: "everything"})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, id := range ids {
		if rep.ledger.tickets[id] == nil {
			n++
		}
	}
	return n, nil
}

// classifyFailures splits the failed calls into those inside a fault's
// window (start to grace after it was undone) and outside.
func (rep *report) classifyFailures() {
	grace := rep.cfg.timing().grace
	rep.failures = map[bool]map[string]map[codes.Code]int{true: {}, false: {}}
	for _, f := range rep.calls.failed() {
		inside := false
		for _, d := range rep.faults {
			if !f.at.Before(d.start) && !f.at.After(d.end.Add(grace)) {
				inside = true
				break
			}
		}
		m := rep.failures[inside]
		if m[f.rpc] == nil {
			m[f.rpc] = map[codes.Code]int{}
		}
		m[f.rpc][f.code]++
		if !inside {
			rep.counts.outside++
		}
	}
}

// readSDKCounters sums the SDK's watch resumes, retries and strategy moves
// on the run's connections.
func (rep *report) readSDKCounters(ctx context.Context) {
	var rm metricdata.ResourceMetrics
	if err := rep.cl.reader.Collect(ctx, &rm); err != nil {
		return
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			var n int64
			for _, dp := range sum.DataPoints {
				n += dp.Value
			}
			switch m.Name {
			case telemetry.WatchResumes:
				rep.resumes += n
			case telemetry.Retries:
				rep.retries += n
			case telemetry.Fallbacks, telemetry.MoveUps:
				rep.moves += n
			}
		}
	}
}

// verdict is nil when the run was complete and every count is zero.
func (rep *report) verdict() error {
	c := rep.counts
	var errs []error
	if rep.interrupted {
		errs = append(errs, errors.New("the run was interrupted: the report is incomplete"))
	}
	if c.lost+c.duplicated+c.unseen > 0 {
		errs = append(errs, fmt.Errorf("lost %d, duplicated %d, unseen %d tickets", c.lost, c.duplicated, c.unseen))
	}
	if c.phantom > 0 {
		errs = append(errs, fmt.Errorf("%d tickets created by clients were never stored by the core", c.phantom))
	}
	if c.outside > 0 {
		errs = append(errs, fmt.Errorf("%d calls failed outside every fault window", c.outside))
	}
	for _, d := range rep.faults {
		if d.err != nil {
			errs = append(errs, fmt.Errorf("fault %v at %v: %w", d.fault, d.At, d.err))
		}
	}
	return errors.Join(errs...)
}

// write writes the summary (also to stdout), the CSV and the SVG to -out.
func (rep *report) write(stdout io.Writer) error {
	if err := os.MkdirAll(rep.cfg.out, 0o755); err != nil {
		return err
	}
	var head, body bytes.Buffer
	rep.cfg.header(&head, rep)
	rep.summary(&body)
	if _, err := stdout.Write(body.Bytes()); err != nil {
		return err
	}
	sum := append(head.Bytes(), body.Bytes()...)
	secs := rep.rec.Seconds()
	var csvBuf, svgBuf bytes.Buffer
	if err := timeseries.WriteCSV(&csvBuf, secs); err != nil {
		return err
	}
	title := fmt.Sprintf("meshmatch soak: %s strategy, seed %d, %v", rep.cfg.strategy, rep.cfg.seed, rep.end.Sub(rep.start).Round(time.Second))
	if rep.interrupted {
		title += " (incomplete)"
	}
	if err := timeseries.WriteSVG(&svgBuf, title, secs, rep.rec.Faults(), rep.start); err != nil {
		return err
	}
	for name, b := range map[string][]byte{"summary.txt": sum, "soak.csv": csvBuf.Bytes(), "soak.svg": svgBuf.Bytes()} {
		if err := os.WriteFile(filepath.Join(rep.cfg.out, name), b, 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "soak: wrote %s, %s and %s\n", filepath.Join(rep.cfg.out, "summary.txt"),
		filepath.Join(rep.cfg.out, "soak.csv"), filepath.Join(rep.cfg.out, "soak.svg"))
	return nil
}

// summary writes the report's body; it ends with the three counts.
func (rep *report) summary(w io.Writer) {
	c := rep.counts
	if rep.interrupted {
		fmt.Fprintln(w, "INCOMPLETE: the run was interrupted; the counts cover it up to then")
	}
	fmt.Fprintf(w, "ran %v: %d faults done\n", rep.end.Sub(rep.start).Round(time.Second), len(rep.faults))
	for _, d := range rep.faults {
		rec := "recovery: none within the run"
		if r, ok := rep.rec.Recovery(d.start, d.end, 10*time.Second, 0.9); ok {
			rec = fmt.Sprintf("recovery to 90%% of the rate before: %v after it was undone", r)
		}
		errText := ""
		if d.err != nil {
			errText = " ERROR: " + d.err.Error()
		}
		fmt.Fprintf(w, "  %7.1fs %-18s %-12s took %5.1fs, %s%s\n", d.start.Sub(rep.start).Seconds(), d.Kind, d.Target,
			d.end.Sub(d.start).Seconds(), rec, errText)
	}
	fmt.Fprintln(w, "calls by RPC (as the application saw them, after the SDK's retries):")
	total := rep.rec.ByMethod()
	for _, rpc := range slices.Sorted(maps.Keys(total)) {
		fmt.Fprintf(w, "  %-17s ok %6d  failed inside fault windows: %s  outside: %s\n", rpc, total[rpc][codes.OK],
			codeList(rep.failures[true][rpc]), codeList(rep.failures[false][rpc]))
	}
	fmt.Fprintf(w, "latency p50 %v, p99 %v over the run\n", rep.rec.Quantile(0.5, rep.start, rep.end).Round(time.Microsecond),
		rep.rec.Quantile(0.99, rep.start, rep.end).Round(time.Microsecond))
	fmt.Fprintf(w, "SDK: %d watch resumes, %d retries, %d strategy fallbacks and move-ups\n", rep.resumes, rep.retries, rep.moves)
	fmt.Fprintf(w, "tickets: %d created (%d CreateTicket failures), %d assignments seen, %d given up, %d deleted\n",
		c.created, c.createFailed, c.seen, c.gaveUp, c.deleted)
	if c.serverSide {
		fmt.Fprintf(w, "core records (server side): %d tickets stored, %d assigned; %d unknown to every client, %d created by clients but never stored\n",
			c.stored, c.assignedCore, c.unknown, c.phantom)
		fmt.Fprintln(w, "counts: lost and unseen from the core's records and the clients; duplicated from the core's records")
	} else {
		fmt.Fprintf(w, "director: %d tickets assigned; query service: %d tickets still listed that no player created\n", c.assignedDirector, c.unknown)
		fmt.Fprintln(w, "counts: client-side only (a real Open-Match's records cannot be read): lost from the players, unseen from the director and the players, duplicated from QueryTicketIds at the end")
	}
	fmt.Fprintf(w, "failed outside fault windows: %d\n", c.outside)
	fmt.Fprintf(w, "lost: %d\nduplicated: %d\nunseen: %d\n", c.lost, c.duplicated, c.unseen)
}

// codeList is "Unavailable=3 DeadlineExceeded=1", or "0".
func codeList(m map[codes.Code]int) string {
	if len(m) == 0 {
		return "0"
	}
	var parts []string
	for code, n := range m {
		parts = append(parts, fmt.Sprintf("%v=%d", code, n))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// failedCall is one call that returned an error.
type failedCall struct {
	at   time.Time
	rpc  string
	code codes.Code
}

// failedCalls keeps the failed calls; they are few.
type failedCalls struct {
	mu   sync.Mutex
	list []failedCall
}
