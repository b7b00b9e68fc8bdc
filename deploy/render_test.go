// Package deploy_test checks the Kubernetes manifests in this folder: every
// document decodes strictly into k8s.io/api types, and every kustomization
// renders (resources, namespace, strategic-merge patches of pod templates)
// into objects whose cross-references hold.
package deploy_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// kustomization is the part of kustomize's Kustomization these manifests
// use. Decoding is strict, so a field the renderer below does not implement
// is an error rather than silently ignored.
type kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace,omitempty"`
	Resources  []string `json:"resources,omitempty"`
	Patches    []struct {
		Path string `json:"path"`
	} `json:"patches,omitempty"`
}

// objects is a rendered set of manifests.
type objects struct {
	deployments     []*appsv1.Deployment
	jobs            []*batchv1.Job
	services        []*corev1.Service
	serviceAccounts []*corev1.ServiceAccount
	roles           []*rbacv1.Role
	roleBindings    []*rbacv1.RoleBinding
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// decodeFile decodes every document of a manifest file strictly by its kind.
func decodeFile(path string) (objects, error) {
	var out objects
	b, err := os.ReadFile(path)
	if err != nil {
		return out, err
	}
	for i, doc := range docSep.Split(string(b), -1) {
		if len(bytes.TrimSpace([]byte(doc))) == 0 {
			continue
		}
		if err := out.decode([]byte(doc)); err != nil {
			return out, fmt.Errorf("%s: document %d: %w", path, i+1, err)
		}
	}
	return out, nil
}

func (o *objects) decode(doc []byte) error {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return err
	}
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		return decodeInto(doc, &o.deployments)
	case "batch/v1 Job":
		return decodeInto(doc, &o.jobs)
	case "v1 Service":
		return decodeInto(doc, &o.services)
	case "v1 ServiceAccount":
		return decodeInto(doc, &o.serviceAccounts)
	case "rbac.authorization.k8s.io/v1 Role":
		return decodeInto(doc, &o.roles)
	case "rbac.authorization.k8s.io/v1 RoleBinding":
		return decodeInto(doc, &o.roleBindings)
	default:
		return fmt.Errorf("kind %q %q is not expected here (namespaced RBAC only: no ClusterRoles or ClusterRoleBindings)", tm.APIVersion, tm.Kind)
	}
}

func decodeInto[T any](doc []byte, list *[]*T) error {
	v := new(T)
	if err := yaml.UnmarshalStrict(doc, v); err != nil {
		return err
	}
	*list = append(*list, v)
	return nil
}

// render builds the kustomization in dir the way kustomize does for the
// features these manifests use.
func render(dir string) (objects, error) {
	var k kustomization
	b, err := os.ReadFile(filepath.Join(dir, "kustomization.yaml"))
	if err != nil {
		return objects{}, err
	}
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		return objects{}, fmt.Errorf("%s/kustomization.yaml: %w", dir, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return objects{}, fmt.Errorf("%s: apiVersion/kind = %s/%s", dir, k.APIVersion, k.Kind)
	}
	var out objects
	for _, r := range k.Resources {
		o, err := renderResource(filepath.Join(dir, r))
		if err != nil {
			return out, err
		}
		out.add(o)
	}
	if k.Namespace != "" {
		if len(out.roles)+len(out.roleBindings) > 0 {
			// kustomize would move the Roles into that namespace and rewrite
			// some RoleBinding subjects; the RBAC here names its namespaces.
			return out, fmt.Errorf("%s: a namespace field over Roles or RoleBindings is not supported", dir)
		}
		out.setNamespace(k.Namespace)
	}
	for _, p := range k.Patches {
		if err := out.patchFile(filepath.Join(dir, p.Path)); err != nil {
			return out, err
		}
	}
	return out, nil
}

func renderResource(path string) (objects, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return render(path)
	}
	return decodeFile(path)
}

func (o *objects) add(other objects) {
	o.deployments = append(o.deployments, other.deployments...)
	o.jobs = append(o.jobs, other.jobs...)
	o.services = append(o.services, other.services...)
	o.serviceAccounts = append(o.serviceAccounts, other.serviceAccounts...)
	o.roles = append(o.roles, other.roles...)
	o.roleBindings = append(o.roleBindings, other.roleBindings...)
}

func (o *objects) setNamespace(ns string) {
	for _, m := range o.metas() {
		m.Namespace = ns
	}
}

func (o *objects) metas() []*metav1.ObjectMeta {
	var out []*metav1.ObjectMeta
	for _, d := range o.deployments {
		out = append(out, &d.ObjectMeta)
	}
	for _, j := range o.jobs {
		out = append(out, &j.ObjectMeta)
	}
	for _, s := range o.services {
		out = append(out, &s.ObjectMeta)
	}
	for _, sa := range o.serviceAccounts {
		out = append(out, &sa.ObjectMeta)
	}
	for _, r := range o.roles {
		out = append(out, &r.ObjectMeta)
	}
	for _, rb := range o.roleBindings {
		out = append(out, &rb.ObjectMeta)
	}
	return out
}

// templates returns each workload's name and pod template.
func (o *objects) templates() map[string]*corev1.PodTemplateSpec {
	out := map[string]*corev1.PodTemplateSpec{}
	for _, d := range o.deployments {
		out["Deployment/"+d.Name] = &d.Spec.Template
	}
	for _, j := range o.jobs {
		out["Job/"+j.Name] = &j.Spec.Template
	}
	return out
}

// isZero reports whether v is its type's zero value.
func isZero[T any](v T) bool {
	var zero T
	return reflect.DeepEqual(v, zero)
}
