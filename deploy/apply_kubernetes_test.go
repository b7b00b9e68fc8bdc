//go:build kubernetes

package deploy_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// runTests runs the tests in a network namespace of their own, where
// kubetest can run the control plane (see kubetest.Main).
func runTests(m *testing.M) int { return kubetest.Main(kubetest.LeakChecked(m, nil)) }

// TestApplyToAPIServer applies every kustomization, rendered as
// TestManifests renders it, to a real kube-apiserver with server-side
// apply: the API server's validation (and defaulting) of every object, not
// only k8s.io/api's decoding. Each namespace's default ServiceAccount is
// then refused what meshmatch does not need (listing EndpointSlices, Pods,
// Secrets). In the mode that grants RBAC, the real endpointslice strategy
// runs with a token of the mode's ServiceAccount (see checkWatcher).
func TestApplyToAPIServer(t *testing.T) {
	c := kubetest.StartCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	aliases, err := render("open-match-aliases")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range modes {
		t.Run(m.dir, func(t *testing.T) {
			o, err := render(m.dir)
			if err != nil {
				t.Fatal(err)
			}
			o.add(aliases)
			namespaces := map[string]bool{}
			var docs []byte
			for _, obj := range o.all() {
				js, err := json.Marshal(obj)
				if err != nil {
					t.Fatal(err)
				}
				docs = append(append(docs, js...), "\n---\n"...)
			}
			for _, meta := range o.metas() {
				namespaces[meta.Namespace] = true
			}
			for ns := range namespaces {
				if err := c.EnsureNamespace(ctx, ns); err != nil {
					t.Fatal(err)
				}
			}
			if err := c.Apply(ctx, docs); err != nil {
				t.Fatalf("server-side apply of %s: %v", m.dir, err)
			}
			// A Job's pod template is immutable, so the next overlay cannot
			// be applied over this one: delete it, as kubectl delete -k
			// does before a switch of mode.
			t.Cleanup(func() {
				for _, obj := range o.all() {
					tm, meta := typeMeta(obj)
					if err := c.Delete(ctx, tm.APIVersion, tm.Kind, meta.Namespace, meta.Name); err != nil {
						t.Errorf("delete %s %s/%s: %v", tm.Kind, meta.Namespace, meta.Name, err)
					}
				}
			})
			t.Logf("%s: %d objects applied in namespaces %v", m.dir, len(o.metas()), keys(namespaces))
			for ns := range namespaces {
				token, err := c.Token(ctx, ns, "default")
				if err != nil {
					t.Fatal(err)
				}
				for _, path := range []string{
					"/apis/discovery.k8s.io/v1/namespaces/" + ns + "/endpointslices",
					"/api/v1/namespaces/" + ns + "/pods",
					"/api/v1/namespaces/" + ns + "/secrets",
				} {
					_, err := c.DoAs(ctx, token, http.MethodGet, path, nil, "")
					var se *kubetest.StatusError
					if !errors.As(err, &se) || se.Code != http.StatusForbidden || !strings.Contains(se.Status.Message, "system:serviceaccount:"+ns+":default") {
						t.Errorf("GET %s as %s's default ServiceAccount = %v, want 403 naming the ServiceAccount", path, ns, err)
					}
				}
			}
			if m.serviceAccount != "" {
				checkWatcher(t, c, "meshmatch", m.serviceAccount)
			}
		})
	}
}

// typeMeta returns an object's kind and metadata.
func typeMeta(obj any) (metav1.TypeMeta, metav1.ObjectMeta) {
	switch o := obj.(type) {
	case *appsv1.Deployment:
		return o.TypeMeta, o.ObjectMeta
	case *batchv1.Job:
		return o.TypeMeta, o.ObjectMeta
	case *corev1.Service:
		return o.TypeMeta, o.ObjectMeta
	case *corev1.ServiceAccount:
		return o.TypeMeta, o.ObjectMeta
	case *rbacv1.Role:
		return o.TypeMeta, o.ObjectMeta
	case *rbacv1.RoleBinding:
		return o.TypeMeta, o.ObjectMeta
	}
	panic(fmt.Sprintf("typeMeta of %T", obj))
}

// all returns every object, for the API server.
func (o *objects) all() []any {
	var out []any
	for _, d := range o.deployments {
		out = append(out, d)
	}
	for _, j := range o.jobs {
		out = append(out, j)
	}
	for _, s := range o.services {
		out = append(out, s)
	}
	for _, sa := range o.serviceAccounts {
		out = append(out, sa)
	}
	for _, r := range o.roles {
		out = append(out, r)
	}
	for _, rb := range o.roleBindings {
		out = append(out, rb)
	}
	return out
}
