package deploy_test

import (
	"fmt"
	"strings"
	"testing"
)

// recorder collects a checker's errors instead of failing the test.
type recorder struct {
	testing.TB
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestRBACChecksCatch breaks the endpointslice overlay's RBAC one way at a
// time and expects the checks to say so.
func TestRBACChecksCatch(t *testing.T) {
	yes := true
	for _, tc := range []struct {
		name   string
		mutate func(o *objects)
		want   string
	}{
		{name: "get granted too", mutate: func(o *objects) { o.roles[0].Rules[0].Verbs = append(o.roles[0].Rules[0].Verbs, "get") }, want: "rules = "},
		{name: "pods granted too", mutate: func(o *objects) { o.roles[0].Rules[0].Resources = append(o.roles[0].Rules[0].Resources, "pods") }, want: "rules = "},
		{name: "roleRef names another Role", mutate: func(o *objects) { o.roleBindings[0].RoleRef.Name = "other" }, want: "names no Role"},
		{name: "subject in the wrong namespace", mutate: func(o *objects) { o.roleBindings[0].Subjects[0].Namespace = openMatchNamespace }, want: "is not a ServiceAccount of the manifests"},
		{name: "Role and binding in the clients' namespace", mutate: func(o *objects) {
			o.roles[0].Namespace, o.roleBindings[0].Namespace = "meshmatch", "meshmatch"
		}, want: "no RoleBinding in namespace open-match"},
		{name: "client without the ServiceAccount", mutate: func(o *objects) { o.deployments[0].Spec.Template.Spec.ServiceAccountName = "" }, want: "want serviceAccountName meshmatch-endpointslice"},
		{name: "server with a token", mutate: func(o *objects) {
			for _, d := range o.deployments {
				if !isClient(&d.Spec.Template.Spec) {
					d.Spec.Template.Spec.AutomountServiceAccountToken = &yes
				}
			}
		}, want: "want the default service account"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := render("overlays/endpointslice")
			if err != nil {
				t.Fatal(err)
			}
			tc.mutate(&o)
			r := &recorder{TB: t}
			c := &checker{t: r, mode: modeOf(t, "overlays/endpointslice"), objs: o, all: o}
			for _, w := range o.workloads() {
				c.checkIdentity(w.name, &w.tmpl.Spec)
			}
			c.checkRBAC()
			if !strings.Contains(strings.Join(r.errs, "\n"), tc.want) {
				t.Errorf("checks of the broken overlay = %q, want an error holding %q", r.errs, tc.want)
			}
		})
	}
}

func modeOf(t *testing.T, dir string) mode {
	for _, m := range modes {
		if m.dir == dir {
			return m
		}
	}
	t.Fatalf("no mode %s", dir)
	return mode{}
}
