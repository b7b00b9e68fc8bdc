package deploy_test

import (
	"go/build"
	"reflect"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
)

// openMatchNamespace holds Open-Match's Services, which meshmatch's clients
// dial by default.
const openMatchNamespace = "open-match"

// watchRule is the one rule the endpointslice strategy needs: list a
// Service's EndpointSlices, then watch them.
var watchRule = rbacv1.PolicyRule{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"list", "watch"}}

// workload is a pod template with the name and namespace of its owner.
type workload struct {
	name, namespace string
	tmpl            *corev1.PodTemplateSpec
}

func (o *objects) workloads() []workload {
	var out []workload
	for _, d := range o.deployments {
		out = append(out, workload{"Deployment/" + d.Name, d.Namespace, &d.Spec.Template})
	}
	for _, j := range o.jobs {
		out = append(out, workload{"Job/" + j.Name, j.Namespace, &j.Spec.Template})
	}
	return out
}

// isClient reports whether a pod runs a meshmatch client, one whose
// containers choose a strategy.
func isClient(spec *corev1.PodSpec) bool {
	for i := range spec.Containers {
		if hasEnv(&spec.Containers[i], "MESHMATCH_STRATEGY") {
			return true
		}
	}
	return false
}

// checkIdentity: a client pod of a mode that watches EndpointSlices runs as
// the mode's ServiceAccount with its token mounted; every other pod runs as
// the default one with no token.
func (c *checker) checkIdentity(name string, spec *corev1.PodSpec) {
	if c.mode.serviceAccount != "" && isClient(spec) {
		if spec.ServiceAccountName != c.mode.serviceAccount || spec.AutomountServiceAccountToken == nil || !*spec.AutomountServiceAccountToken {
			c.errorf("%s: want serviceAccountName %s with automountServiceAccountToken: true (the endpointslice strategy reads its token)", name, c.mode.serviceAccount)
		}
		return
	}
	if spec.ServiceAccountName != "" || spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		c.errorf("%s: want the default service account with automountServiceAccountToken: false (it calls no Kubernetes API)", name)
	}
}

// checkRBAC checks the ServiceAccounts, Roles and RoleBindings: none unless
// the mode watches EndpointSlices; then every Role grants exactly
// watchRule, every RoleBinding binds such a Role to ServiceAccounts of the
// manifests, and every client pod's ServiceAccount is bound in every
// namespace whose Services it dials, with nothing bound or defined that no
// pod uses.
func (c *checker) checkRBAC() {
	o := c.objs
	if c.mode.serviceAccount == "" {
		if n := len(o.serviceAccounts) + len(o.roles) + len(o.roleBindings); n > 0 {
			c.errorf("want no ServiceAccounts, Roles or RoleBindings in this mode, got %d", n)
		}
		return
	}
	for _, r := range o.roles {
		if len(r.Rules) != 1 || !reflect.DeepEqual(r.Rules[0], watchRule) {
			c.errorf("Role %s/%s rules = %+v, want exactly %+v", r.Namespace, r.Name, r.Rules, watchRule)
		}
	}
	for _, rb := range o.roleBindings {
		c.checkBinding(rb)
	}
	used := map[string]bool{}
	for _, w := range o.workloads() {
		if !isClient(&w.tmpl.Spec) {
			continue
		}
		sa := w.namespace + "/" + w.tmpl.Spec.ServiceAccountName
		used[sa] = true
		if !c.hasServiceAccount(w.namespace, w.tmpl.Spec.ServiceAccountName) {
			c.errorf("%s: ServiceAccount %s is not in the manifests", w.name, sa)
		}
		for ns := range watchedNamespaces(w.tmpl) {
			if !c.bound(ns, w.namespace, w.tmpl.Spec.ServiceAccountName) {
				c.errorf("%s: no RoleBinding in namespace %s binds its ServiceAccount %s to a Role granting list and watch on endpointslices", w.name, ns, sa)
			}
		}
	}
	for _, sa := range o.serviceAccounts {
		if !used[sa.Namespace+"/"+sa.Name] {
			c.errorf("ServiceAccount %s/%s is used by no client pod", sa.Namespace, sa.Name)
		}
	}
	for _, rb := range o.roleBindings {
		for _, s := range rb.Subjects {
			if !used[s.Namespace+"/"+s.Name] {
				c.errorf("RoleBinding %s/%s binds %s/%s, which no client pod runs as", rb.Namespace, rb.Name, s.Namespace, s.Name)
			}
		}
	}
}

func (c *checker) checkBinding(rb *rbacv1.RoleBinding) {
	what := "RoleBinding " + rb.Namespace + "/" + rb.Name
	ref := rb.RoleRef
	if ref.APIGroup != rbacv1.GroupName || ref.Kind != "Role" || c.role(rb.Namespace, ref.Name) == nil {
		c.errorf("%s: roleRef %+v names no Role of the manifests in its namespace", what, ref)
	}
	if len(rb.Subjects) == 0 {
		c.errorf("%s: no subjects", what)
	}
	for _, s := range rb.Subjects {
		if s.Kind != rbacv1.ServiceAccountKind || s.APIGroup != "" || s.Namespace == "" || !c.hasServiceAccount(s.Namespace, s.Name) {
			c.errorf("%s: subject %+v is not a ServiceAccount of the manifests (kind ServiceAccount, with its namespace)", what, s)
		}
	}
}

func (c *checker) role(ns, name string) *rbacv1.Role {
	for _, r := range c.objs.roles {
		if r.Namespace == ns && r.Name == name {
			return r
		}
	}
	return nil
}

func (c *checker) hasServiceAccount(ns, name string) bool {
	for _, sa := range c.objs.serviceAccounts {
		if sa.Namespace == ns && sa.Name == name {
			return true
		}
	}
	return false
}

// bound reports whether a RoleBinding in namespace ns binds ServiceAccount
// saNS/sa to a Role there that grants exactly watchRule.
func (c *checker) bound(ns, saNS, sa string) bool {
	for _, rb := range c.objs.roleBindings {
		r := c.role(ns, rb.RoleRef.Name)
		if rb.Namespace != ns || rb.RoleRef.Kind != "Role" || r == nil || len(r.Rules) != 1 || !reflect.DeepEqual(r.Rules[0], watchRule) {
			continue
		}
		for _, s := range rb.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Namespace == saNS && s.Name == sa {
				return true
			}
		}
	}
	return false
}

// watchedNamespaces returns the namespaces whose EndpointSlices a client pod
// watches: Open-Match's, which omclient's default addresses name, and those
// of the Service addresses in its env.
func watchedNamespaces(tmpl *corev1.PodTemplateSpec) map[string]bool {
	out := map[string]bool{openMatchNamespace: true}
	for _, ct := range tmpl.Spec.Containers {
		for _, e := range ct.Env {
			host, _, _ := strings.Cut(e.Value, ":")
			if m := svcHost.FindStringSubmatch(host); m != nil {
				out[m[2]] = true
			}
		}
	}
	return out
}

// importsStrategy reports whether the command in dir (an example's main
// package, as the default build context sees it) imports the endpointslice
// strategy, without which MESHMATCH_STRATEGY=endpointslice names no
// strategy.
func importsStrategy(dir string) (bool, error) {
	p, err := build.ImportDir(dir, 0)
	if err != nil {
		return false, err
	}
	return slices.Contains(p.Imports, "github.com/meshmatch/meshmatch/balancer/endpointslice"), nil
}
