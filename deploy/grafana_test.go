package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
)

// dashboardFile is the Grafana dashboard of deploy/README.md. Its metric
// names are checked against a live scrape by the drift test in
// examples/internal/metrics (TestGrafanaDashboardMetricsExist), which can
// import the examples' own Prometheus exporter setup; this package cannot.
const dashboardFile = "grafana/meshmatch.json"

// dashboard is the part of Grafana's dashboard JSON model the file uses.
// Decoding is strict, so a field added to the file must be added here too;
// only the panels' fieldConfig and options are left opaque.
type dashboard struct {
	Title         string     `json:"title"`
	UID           string     `json:"uid"`
	Description   string     `json:"description"`
	Tags          []string   `json:"tags"`
	Editable      bool       `json:"editable"`
	GraphTooltip  int        `json:"graphTooltip"`
	Links         []struct{} `json:"links"`
	Refresh       string     `json:"refresh"`
	SchemaVersion int        `json:"schemaVersion"`
	Version       int        `json:"version"`
	Time          struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Timezone   string `json:"timezone"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string      `json:"name"`
	Label      string      `json:"label"`
	Type       string      `json:"type"`
	Datasource *datasource `json:"datasource"`
	Query      string      `json:"query"`
	Definition string      `json:"definition"`
	Hide       int         `json:"hide"`
	Refresh    int         `json:"refresh"`
	Regex      string      `json:"regex"`
	Sort       int         `json:"sort"`
	IncludeAll bool        `json:"includeAll"`
	AllValue   string      `json:"allValue"`
	Multi      bool        `json:"multi"`
	Current    struct{}    `json:"current"`
	Options    []struct{}  `json:"options"`
}

type panel struct {
	ID          int             `json:"id"`
	Type        string          `json:"type"`
	Title       string          `json:"title"`
	Description string          `json:"description"`
	Datasource  *datasource     `json:"datasource"`
	GridPos     *gridPos        `json:"gridPos"`
	Targets     []target        `json:"targets"`
	FieldConfig json.RawMessage `json:"fieldConfig"`
	Options     json.RawMessage `json:"options"`
}

type gridPos struct {
	H int `json:"h"`
	W int `json:"w"`
	X int `json:"x"`
	Y int `json:"y"`
}

type target struct {
	RefID        string      `json:"refId"`
	Datasource   *datasource `json:"datasource"`
	Expr         string      `json:"expr"`
	LegendFormat string      `json:"legendFormat"`
}

// promDS is the datasource of every query: the ${datasource} variable.
var promDS = datasource{Type: "prometheus", UID: "${datasource}"}

func readDashboard(t *testing.T) dashboard {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var d dashboard
	if err := dec.Decode(&d); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dec.More() {
		t.Fatalf("%s: more than one JSON value", dashboardFile)
	}
	return d
}

// TestGrafanaDashboard checks what Grafana needs to import the dashboard and
// what makes it work on any Prometheus: a datasource variable every query
// uses, namespace and pod variables every selector applies, and panels with
// unique ids laid out without overlaps on the 24-column grid.
func TestGrafanaDashboard(t *testing.T) {
	d := readDashboard(t)
	if d.Title == "" || d.UID == "" || len(d.UID) > 40 {
		t.Errorf("title %q, uid %q: want both set, uid at most 40 characters", d.Title, d.UID)
	}
	if d.SchemaVersion < 36 {
		t.Errorf("schemaVersion = %d, want 36 or later (datasources as {type, uid})", d.SchemaVersion)
	}
	checkVariables(t, d.Templating.List)
	if len(d.Panels) == 0 {
		t.Fatal("no panels")
	}
	ids := map[int]string{}
	var placed []panel
	for _, p := range d.Panels {
		name := fmt.Sprintf("panel %d %q", p.ID, p.Title)
		if prev, dup := ids[p.ID]; dup || p.ID <= 0 {
			t.Errorf("%s: id not positive or already used by %q", name, prev)
		}
		ids[p.ID] = p.Title
		if p.Datasource == nil || *p.Datasource != promDS {
			t.Errorf("%s: datasource %v, want %v", name, p.Datasource, promDS)
		}
		checkGridPos(t, name, p, placed)
		placed = append(placed, p)
		checkTargets(t, name, p.Targets)
	}
}

func checkVariables(t *testing.T, vars []variable) {
	t.Helper()
	byName := map[string]variable{}
	for _, v := range vars {
		byName[v.Name] = v
	}
	if ds := byName["datasource"]; ds.Type != "datasource" || ds.Query != "prometheus" {
		t.Errorf("variable datasource = %+v, want type datasource, query prometheus", ds)
	}
	for _, name := range []string{"namespace", "pod"} {
		v := byName[name]
		if v.Type != "query" || v.Datasource == nil || *v.Datasource != promDS {
			t.Errorf("variable %s: type %q, datasource %v; want a query on %v", name, v.Type, v.Datasource, promDS)
		}
		if !strings.HasPrefix(v.Query, "label_values(") || !strings.HasSuffix(v.Query, ", "+name+")") || v.Definition != v.Query {
			t.Errorf("variable %s: query %q, definition %q; want label_values(…, %s) in both", name, v.Query, v.Definition, name)
		}
	}
	if !strings.Contains(byName["pod"].Query, `namespace="$namespace"`) {
		t.Errorf("variable pod: query %q does not follow $namespace", byName["pod"].Query)
	}
}

// checkGridPos checks p fits the grid and overlaps none of placed.
func checkGridPos(t *testing.T, name string, p panel, placed []panel) {
	t.Helper()
	g := p.GridPos
	if g == nil || g.W <= 0 || g.H <= 0 || g.X < 0 || g.Y < 0 || g.X+g.W > 24 {
		t.Errorf("%s: gridPos %+v, want a box inside 24 columns", name, g)
		return
	}
	for _, q := range placed {
		o := q.GridPos
		if o != nil && g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H {
			t.Errorf("%s: gridPos %+v overlaps panel %d %q at %+v", name, *g, q.ID, q.Title, *o)
		}
	}
}

// selector matches a metric selector of PromQL: name{matchers}.
var selector = regexp.MustCompile(`([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}`)

// checkTargets checks every query of a panel uses the datasource variable
// and that every selector filters by the namespace and pod variables.
func checkTargets(t *testing.T, name string, targets []target) {
	t.Helper()
	if len(targets) == 0 {
		t.Errorf("%s: no queries", name)
	}
	refs := map[string]bool{}
	for _, tg := range targets {
		if tg.RefID == "" || refs[tg.RefID] {
			t.Errorf("%s: refId %q empty or repeated", name, tg.RefID)
		}
		refs[tg.RefID] = true
		if tg.Datasource == nil || *tg.Datasource != promDS {
			t.Errorf("%s, query %s: datasource %v, want %v", name, tg.RefID, tg.Datasource, promDS)
		}
		sels := selector.FindAllStringSubmatch(tg.Expr, -1)
		if len(sels) == 0 {
			t.Errorf("%s, query %s: no selector in %q", name, tg.RefID, tg.Expr)
		}
		for _, s := range sels {
			if !strings.Contains(s[2], `namespace="$namespace"`) || !strings.Contains(s[2], `pod=~"$pod"`) {
				t.Errorf("%s, query %s: selector %s does not filter by $namespace and $pod", name, tg.RefID, s[0])
			}
		}
	}
}
