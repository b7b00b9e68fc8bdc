package deploy_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

// mode is one way of running the examples, and what it must look like.
type mode struct {
	dir       string
	strategy  string // MESHMATCH_STRATEGY of every client; "" for the base
	clusterIP bool   // clients dial ClusterIP Services (through a sidecar), not headless ones
	inject    bool   // pods get Istio's injection label
	grpcAgent bool   // proxyless: grpc-agent template, held until the agent is up, downward-API identity
	// serviceAccount is what clients run as, with its token mounted, to
	// watch EndpointSlices; "" means the default one with no token.
	serviceAccount string
}

var modes = []mode{
	{dir: "base"},
	{dir: "overlays/headless", strategy: "headless"},
	{dir: "overlays/sidecar", strategy: "sidecar", clusterIP: true, inject: true},
	{dir: "overlays/proxyless", strategy: "xds", inject: true, grpcAgent: true},
	{dir: "overlays/endpointslice", strategy: "endpointslice", serviceAccount: "meshmatch-endpointslice"},
}

// openMatchPorts are the gRPC ports of Open-Match's Helm chart (v1.8).
var openMatchPorts = map[string]int32{"frontend": 50504, "backend": 50505, "query": 50503}

func TestManifests(t *testing.T) {
	env, err := envNamesFromCode()
	if err != nil || len(env) == 0 {
		t.Fatalf("envNamesFromCode() = %v, %v; want the names meshmatch reads", env, err)
	}
	t.Logf("environment variables meshmatch reads: %v", keys(env))
	aliases, err := render("open-match-aliases")
	if err != nil {
		t.Fatal(err)
	}
	checkOpenMatchAliases(t, aliases)
	for _, m := range modes {
		t.Run(m.dir, func(t *testing.T) {
			o, err := render(m.dir)
			if err != nil {
				t.Fatal(err)
			}
			c := &checker{t: t, mode: m, objs: o, env: env, all: o}
			c.all.add(aliases)
			c.run()
		})
	}
}

// TestEveryKustomizationIsChecked makes sure no folder under deploy escapes TestManifests.
func TestEveryKustomizationIsChecked(t *testing.T) {
	checked := map[string]bool{"open-match-aliases": true}
	for _, m := range modes {
		checked[m.dir] = true
	}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == "kustomization.yaml" && !checked[filepath.Dir(path)] {
			t.Errorf("%s is not rendered by TestManifests", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

func checkOpenMatchAliases(t *testing.T, o objects) {
	if len(o.services) == 0 || len(o.deployments)+len(o.jobs) > 0 {
		t.Fatalf("open-match-aliases: want only Services, got %d Services, %d workloads", len(o.services), len(o.deployments)+len(o.jobs))
	}
	for _, s := range o.services {
		component := strings.TrimSuffix(strings.TrimPrefix(s.Name, "open-match-"), "-vip")
		port, ok := openMatchPorts[component]
		if !ok || s.Namespace != "open-match" || s.Spec.ClusterIP == corev1.ClusterIPNone {
			t.Errorf("Service %s/%s: want a ClusterIP open-match-<frontend|backend|query>-vip in namespace open-match", s.Namespace, s.Name)
			continue
		}
		if s.Spec.Selector["app"] != "open-match" || s.Spec.Selector["component"] != component {
			t.Errorf("Service %s selects %v, want Open-Match's %s pods", s.Name, s.Spec.Selector, component)
		}
		if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != port || s.Spec.Ports[0].TargetPort != intstr.FromInt32(port) {
			t.Errorf("Service %s ports = %v, want %d -> %d", s.Name, s.Spec.Ports, port, port)
		}
	}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// checker checks one rendered mode.
type checker struct {
	t    testing.TB
	mode mode
	objs objects         // the mode's own objects
	all  objects         // plus the Open-Match aliases, for address lookups
	env  map[string]bool // names meshmatch reads
}

func (c *checker) run() {
	if len(c.objs.deployments) == 0 || len(c.objs.services) == 0 {
		c.t.Fatalf("rendered %d Deployments and %d Services, want some of each", len(c.objs.deployments), len(c.objs.services))
	}
	for _, d := range c.objs.deployments {
		if d.Spec.Selector == nil || !subset(d.Spec.Selector.MatchLabels, d.Spec.Template.Labels) || len(d.Spec.Selector.MatchExpressions) > 0 {
			c.t.Errorf("Deployment %s: selector %v does not match its pod labels %v", d.Name, d.Spec.Selector, d.Spec.Template.Labels)
		}
	}
	for name, tmpl := range c.objs.templates() {
		c.checkPod(name, tmpl)
	}
	for _, s := range c.objs.services {
		c.checkService(s)
	}
	c.checkRBAC()
}

func subset(sel, labels map[string]string) bool {
	if len(sel) == 0 {
		return false
	}
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func (c *checker) errorf(format string, args ...any) {
	c.t.Helper()
	c.t.Errorf(format, args...)
}

func (c *checker) fail(what string, err error) {
	if err != nil {
		c.t.Helper()
		c.t.Errorf("%s: %v", what, err)
	}
}

// proxyConfig decodes the proxy.istio.io/config annotation.
func proxyConfig(tmpl *corev1.PodTemplateSpec) (map[string]any, error) {
	var cfg map[string]any
	err := yaml.UnmarshalStrict([]byte(tmpl.Annotations["proxy.istio.io/config"]), &cfg)
	if err != nil {
		return nil, fmt.Errorf("proxy.istio.io/config: %w", err)
	}
	return cfg, nil
}
