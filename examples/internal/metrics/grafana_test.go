package metrics_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// dashboardFile is the Grafana dashboard of deploy/README.md; deploy's own
// test checks its structure, this one its metric and label names.
const dashboardFile = "../../../deploy/grafana/meshmatch.json"

// targetLabels are added by Prometheus when it scrapes a pod, so no scrape
// of the program itself has them.
var targetLabels = []string{"namespace", "pod"}

// TestGrafanaDashboardMetricsExist: every metric the dashboard queries, and
// every label it groups, filters or names a legend by, is in a scrape of
// live programs. A core, a match function server and frontend, backend and
// query connections run with this package's provider and make real calls,
// including a retried GetTicket, a restarted QueryTickets, a resumed
// WatchAssignments, and a connection that falls back to a lower strategy
// and moves back up when the higher one returns, so that every instrument
// the dashboard shows has a sample.
func TestGrafanaDashboardMetricsExist(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	queries := dashboardQueries(t)
	require.NotEmpty(t, queries)
	fams := scrapeEverything(ctx, t)
	series := seriesOf(fams)
	used := map[string]bool{}
	for _, q := range queries {
		ref := parsePromQL(q.expr)
		require.NotEmpty(t, ref.metrics, "%s: no metric in %q", q.where, q.expr)
		labels := map[string]map[string]bool{} // label name → values seen
		for _, name := range ref.metrics {
			s, ok := series[name]
			if !assert.True(t, ok, "%s: metric %s is not in the scrape (families: %v)", q.where, name, familyNames(fams)) {
				continue
			}
			used[s.family] = true
			for l, vs := range s.labels {
				if labels[l] == nil {
					labels[l] = map[string]bool{}
				}
				for v := range vs {
					labels[l][v] = true
				}
			}
		}
		for _, l := range append(ref.labels, q.legend...) {
			if !slices.Contains(targetLabels, l) {
				assert.Contains(t, labels, l, "%s: label %s is on none of %v", q.where, l, ref.metrics)
			}
		}
		for _, m := range ref.values {
			if labels[m.label] != nil {
				assert.True(t, labels[m.label][m.value], "%s: %s=%q matches no sample of %v (values %v)", q.where, m.label, m.value, ref.metrics, labels[m.label])
			}
		}
	}
	t.Logf("families the dashboard shows: %v", sortedKeys(used))
}

// query is a PromQL expression of the dashboard and the labels its legend
// names.
type query struct {
	where  string // panel title and refId, or the variable
	expr   string
	legend []string
}

var legendLabel = regexp.MustCompile(`\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}`)

// labelValues matches a variable's query label_values(expr, label).
var labelValues = regexp.MustCompile(`^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\)$`)

// dashboardQueries returns the expressions of every panel's targets and
// of every query variable, read without a schema so that none is missed.
func dashboardQueries(t *testing.T) []query {
	b, err := os.ReadFile(dashboardFile)
	require.NoError(t, err)
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct {
				RefID        string
				Expr         string
				LegendFormat string
			}
		}
		Templating struct {
			List []struct {
				Name, Type, Query string
			}
		}
	}
	require.NoError(t, json.Unmarshal(b, &d))
	var out []query
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			q := query{where: p.Title + " " + tg.RefID, expr: tg.Expr}
			for _, m := range legendLabel.FindAllStringSubmatch(tg.LegendFormat, -1) {
				q.legend = append(q.legend, m[1])
			}
			out = append(out, q)
		}
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		m := labelValues.FindStringSubmatch(v.Query)
		require.NotNil(t, m, "variable %s: query %q is not label_values(expr, label)", v.Name, v.Query)
		out = append(out, query{where: "variable " + v.Name, expr: m[1], legend: []string{m[2]}})
	}
	return out
}

// promRef is what an expression refers to.
type promRef struct {
	metrics []string  // metric names
	labels  []string  // label names in matchers and by/without clauses
	values  []matcher // equality matchers with literal values
}

type matcher struct{ label, value string }

var (
	braces     = regexp.MustCompile(`\{([^}]*)\}`)
	brackets   = regexp.MustCompile(`\[[^\]]*\]`)
	grouping   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
	identifier = regexp.MustCompile(`[a-zA-Z_:][a-zA-Z0-9_:]*`)
	matcherRE  = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	keywords   = []string{"and", "or", "unless", "bool", "offset", "inf", "nan", "group_left", "group_right"}
)

// parsePromQL finds the metric names, label names and literal equality
// matchers of expr. It knows the PromQL the dashboard writes: selectors
// with braces, range brackets, grouping clauses, function calls and
// numbers; every other identifier is a metric name.
func parsePromQL(expr string) promRef {
	var ref promRef
	for _, m := range braces.FindAllStringSubmatch(expr, -1) {
		for _, mm := range matcherRE.FindAllStringSubmatch(m[1], -1) {
			ref.labels = append(ref.labels, mm[1])
			if (mm[2] == "=" || mm[2] == "!=") && !strings.Contains(mm[3], "$") {
				ref.values = append(ref.values, matcher{label: mm[1], value: mm[3]})
			}
		}
	}
	rest := braces.ReplaceAllString(expr, " ")
	rest = brackets.ReplaceAllString(rest, " ")
	for _, m := range grouping.FindAllStringSubmatch(rest, -1) {
		for _, l := range strings.Split(m[1], ",") {
			if l = strings.TrimSpace(l); l != "" {
				ref.labels = append(ref.labels, l)
			}
		}
	}
	rest = grouping.ReplaceAllString(rest, " ")
	for _, loc := range identifier.FindAllStringIndex(rest, -1) {
		id := rest[loc[0]:loc[1]]
		if loc[0] > 0 && (rest[loc[0]-1] == '.' || rest[loc[0]-1] >= '0' && rest[loc[0]-1] <= '9') {
			continue // inside a number such as 1e3
		}
		if strings.HasPrefix(strings.TrimLeft(rest[loc[1]:], " "), "(") || slices.Contains(keywords, strings.ToLower(id)) {
			continue // a function or an operator
		}
		ref.metrics = append(ref.metrics, id)
	}
	return ref
}

// series is a name PromQL can select and the family it belongs to.
type series struct {
	family string
	labels map[string]map[string]bool
}

// seriesOf returns the series names of fams as PromQL sees them: a counter
// or gauge family under its own name (the exporter's _total included), a
// histogram as its _bucket (with label le), _sum and _count series.
func seriesOf(fams map[string]*dto.MetricFamily) map[string]series {
	out := map[string]series{}
	for name, f := range fams {
		labels := map[string]map[string]bool{}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if labels[l.GetName()] == nil {
					labels[l.GetName()] = map[string]bool{}
				}
				labels[l.GetName()][l.GetValue()] = true
			}
		}
		switch f.GetType() {
		case dto.MetricType_HISTOGRAM:
			withLE := map[string]map[string]bool{"le": {}}
			for k, v := range labels {
				withLE[k] = v
			}
			out[name+"_bucket"] = series{family: name, labels: withLE}
			out[name+"_sum"] = series{family: name, labels: labels}
			out[name+"_count"] = series{family: name, labels: labels}
		case dto.MetricType_SUMMARY:
			out[name] = series{family: name, labels: labels}
			out[name+"_sum"] = series{family: name, labels: labels}
			out[name+"_count"] = series{family: name, labels: labels}
		default:
			out[name] = series{family: name, labels: labels}
		}
	}
	return out
}

func familyNames(fams map[string]*dto.MetricFamily) []string {
	var out []string
	for n := range fams {
		out = append(out, n)
	}
	slices.Sort(out)
	return out
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// failFirst makes the core fail the first call of each of its methods with
// Unavailable, as a replica that was just killed does.
type failFirst struct {
	mu     sync.Mutex
	failed map[string]bool
	only   []string
}

func (f *failFirst) take(method string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !slices.Contains(f.only, method) || f.failed[method] {
		return false
	}
	f.failed[method] = true
	return true
}

var errKilled = status.Error(codes.Unavailable, "connection reset (injected by the test)")

func (f *failFirst) unary(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	if f.take(info.FullMethod) {
		return nil, errKilled
	}
	return h(ctx, req)
}

func (f *failFirst) stream(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
	if f.take(info.FullMethod) {
		return errKilled
	}
	return h(srv, ss)
}

// scrapeEverything runs the programs' kinds of connections against a core
// and returns a scrape of their metrics (see TestGrafanaDashboardMetricsExist).
func scrapeEverything(ctx context.Context, t *testing.T) map[string]*dto.MetricFamily {
	e, err := metrics.Start("127.0.0.1:0", "test", io.Discard)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, e.Close()) })
	ff := &failFirst{failed: map[string]bool{}, only: []string{
		"/openmatch.FrontendService/GetTicket",
		"/openmatch.FrontendService/WatchAssignments",
		"/openmatch.QueryService/QueryTickets",
	}}
	core := omtest.NewServer(t, omtest.WithReplicas(2), omtest.WithServerOptions(grpc.ChainUnaryInterceptor(ff.unary), grpc.ChainStreamInterceptor(ff.stream)))
	frontends := core.ReplicaAddrs(omtest.ServiceFrontend)

	// A match function server, as examples/mmf runs it.
	q, err := omclient.DialQuery(core.ReplicaAddrs(omtest.ServiceQuery)[0], e.Options()...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	mmf := omclient.NewMatchFunctionServer(q, func(_ context.Context, p *pb.MatchProfile, pools map[string][]*pb.Ticket) ([]*pb.Match, error) {
		return []*pb.Match{{MatchId: "m1", MatchProfile: p.GetName(), MatchFunction: "test", Tickets: pools["all"]}}, nil
	}, e.ServerOptions()...)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- mmf.Serve(lis) }()
	t.Cleanup(func() {
		assert.NoError(t, mmf.Shutdown(context.Background()))
		<-served
	})

	fe, err := omclient.DialFrontend(frontends[0], e.Options()...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = fe.Close() })
	be, err := omclient.DialBackend(core.ReplicaAddrs(omtest.ServiceBackend)[0], e.Options()...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = be.Close() })

	tk, err := fe.CreateTicket(ctx, &pb.Ticket{})
	require.NoError(t, err)
	_, err = fe.GetTicket(ctx, tk.GetId()) // fails once, retried
	require.NoError(t, err)
	port := lis.Addr().(*net.TCPAddr).Port
	matches, err := be.FetchMatches(ctx, &pb.FunctionConfig{Host: "127.0.0.1", Port: int32(port), Type: pb.FunctionConfig_GRPC}, &pb.MatchProfile{Name: "p", Pools: []*pb.Pool{{Name: "all"}}})
	require.NoError(t, err) // the match function's QueryTickets fails once, restarted
	require.Len(t, matches, 1)
	_, err = be.AssignTickets(ctx, []*pb.AssignmentGroup{{TicketIds: []string{tk.GetId()}, Assignment: &pb.Assignment{Connection: "10.0.0.1:7777"}}})
	require.NoError(t, err)
	for a, err := range fe.WatchAssignments(ctx, tk.GetId()) { // breaks once, resumed
		require.NoError(t, err)
		require.Equal(t, "10.0.0.1:7777", a.GetConnection())
		break
	}
	fallBackAndMoveUp(ctx, t, core, frontends, e.Options())
	// The Auto's OnDecision runs just before omclient counts the decision,
	// so the move-up may not be counted yet: scrape until it is.
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		fams, err := metrics.Scrape(ctx, e.Addr())
		require.NoError(t, err)
		if metrics.Value(fams, "meshmatch_strategy_move_ups_total") > 0 {
			return fams
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			t.Fatalf("meshmatch_strategy_move_ups_total not counted after the move_up decision: %v", ctx.Err())
		}
	}
}

// fallBackAndMoveUp dials a chain of frontend replica 1 then replica 0
// while replica 1 is down, waits until the connection falls back to
// replica 0, then restarts replica 1 and waits until the connection moves
// back up to it.
func fallBackAndMoveUp(ctx context.Context, t *testing.T, core *omtest.Server, frontends []string, opts []omclient.Option) {
	require.NoError(t, core.StopReplica(omtest.ServiceFrontend, 1))
	decisions := make(chan string, 16)
	a := balancer.Auto{
		Strategies:       []balancer.Strategy{balancer.Static{Addrs: frontends[1:2]}, balancer.Static{Addrs: frontends[:1]}},
		Gate:             50 * time.Millisecond,
		RedetectInterval: 100 * time.Millisecond,
		Stable:           50 * time.Millisecond,
		OnDecision: func(d balancer.Decision) {
			select {
			case decisions <- d.Kind:
			default: // must not block; the test waits for the first two
			}
		},
	}
	fe, err := omclient.DialFrontend(frontends[0], append(opts, omclient.WithStrategy(a))...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = fe.Close() })
	for _, want := range []string{"fallback", "move_up"} {
		if want == "move_up" {
			require.NoError(t, core.RestartReplica(omtest.ServiceFrontend, 1))
		}
		select {
		case got := <-decisions:
			require.Equal(t, want, got, "decision of the connection")
		case <-ctx.Done():
			t.Fatalf("no %s decision: %v", want, ctx.Err())
		}
	}
}

// TestParsePromQL: the parser the drift test relies on finds the metrics,
// labels and literal matchers of the kinds of expression the dashboard
// writes, and nothing else.
func TestParsePromQL(t *testing.T) {
	for _, tc := range []struct {
		name string
		expr string
		want promRef
	}{
		{
			name: "histogram_quantile",
			expr: `histogram_quantile(0.99, sum by (le, grpc_method) (rate(a_seconds_bucket{namespace="$namespace", grpc_method!="x/Y"}[$__rate_interval])))`,
			want: promRef{metrics: []string{"a_seconds_bucket"}, labels: []string{"namespace", "grpc_method", "le", "grpc_method"}, values: []matcher{{label: "grpc_method", value: "x/Y"}}},
		},
		{
			name: "binary operation",
			expr: `sum without (pod) (b_total{k=~"v.*"}) / on (job) group_left c 1e3 > bool 2`,
			want: promRef{metrics: []string{"b_total", "c"}, labels: []string{"k", "pod", "job"}},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, parsePromQL(tc.expr))
		})
	}
}
