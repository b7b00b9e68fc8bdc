package kubetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// maxBody bounds what is read from one API answer.
const maxBody = 32 << 20

// StatusError is a non-2xx answer of the API server.
type StatusError struct {
	Method, Path string
	Code         int
	Status       metav1.Status // Message and Reason as the API server gave them
}

func (e *StatusError) Error() string {
	msg := e.Status.Message
	if msg == "" {
		msg = http.StatusText(e.Code)
	}
	return fmt.Sprintf("kubetest: %s %s: %d %s: %s", e.Method, e.Path, e.Code, e.Status.Reason, msg)
}

// Do sends a request as the cluster admin and returns the body of a 2xx
// answer; any other answer is a *StatusError.
func (c *Cluster) Do(ctx context.Context, method, path string, body []byte, contentType string) ([]byte, error) {
	return c.DoAs(ctx, adminToken, method, path, body, contentType)
}

// DoAs is Do with bearer token token (a ServiceAccount's, say).
func (c *Cluster) DoAs(ctx context.Context, token, method, path string, body []byte, contentType string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.URL()+path, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("kubetest: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("kubetest: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, fmt.Errorf("kubetest: %s %s: %w", method, path, err)
	}
	if resp.StatusCode/100 != 2 {
		se := &StatusError{Method: method, Path: path, Code: resp.StatusCode}
		if json.Unmarshal(out, &se.Status) != nil || se.Status.Message == "" {
			se.Status.Message = strings.TrimSpace(string(out))
		}
		return nil, se
	}
	return out, nil
}

// object is what Apply reads of each manifest.
type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// Apply applies every object of manifests (YAML or JSON documents separated
// by "---" lines) as the cluster admin with server-side apply, field manager
// "kubetest", conflicts forced.
func (c *Cluster) Apply(ctx context.Context, manifests []byte) error {
	return c.ApplyAs(ctx, adminToken, manifests)
}

// ApplyAs is Apply with bearer token token.
func (c *Cluster) ApplyAs(ctx context.Context, token string, manifests []byte) error {
	for i, doc := range splitDocuments(manifests) {
		js, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return fmt.Errorf("kubetest: apply: document %d: %w", i+1, err)
		}
		var o object
		if err := json.Unmarshal(js, &o); err != nil {
			return fmt.Errorf("kubetest: apply: document %d: %w", i+1, err)
		}
		path, err := c.objectPath(ctx, o.APIVersion, o.Kind, o.Metadata.Namespace, o.Metadata.Name)
		if err != nil {
			return fmt.Errorf("kubetest: apply: document %d: %w", i+1, err)
		}
		q := url.Values{"fieldManager": {"kubetest"}, "force": {"true"}}
		if _, err := c.DoAs(ctx, token, http.MethodPatch, path+"?"+q.Encode(), js, "application/apply-patch+yaml"); err != nil {
			return err
		}
	}
	return nil
}

// splitDocuments splits a YAML stream at its "---" lines and drops
// documents that hold only comments and blank lines.
func splitDocuments(b []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	content := false
	flush := func() {
		if content {
			docs = append(docs, cur)
		}
		cur, content = nil, false
	}
	for _, line := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(line, []byte("---")) {
			flush()
			continue
		}
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			content = true
		}
		cur = append(append(cur, line...), '\n')
	}
	flush()
	return docs
}

// Delete deletes one object with background propagation, so it goes at
// once (no garbage collector runs here to remove an orphan finalizer);
// deleting one that does not exist is not an error.
func (c *Cluster) Delete(ctx context.Context, apiVersion, kind, namespace, name string) error {
	path, err := c.objectPath(ctx, apiVersion, kind, namespace, name)
	if err != nil {
		return fmt.Errorf("kubetest: delete: %w", err)
	}
	_, err = c.Do(ctx, http.MethodDelete, path+"?propagationPolicy=Background", nil, "")
	if se, ok := err.(*StatusError); ok && se.Code == http.StatusNotFound {
		return nil
	}
	return err
}

// Get returns one object as JSON.
func (c *Cluster) Get(ctx context.Context, apiVersion, kind, namespace, name string) ([]byte, error) {
	path, err := c.objectPath(ctx, apiVersion, kind, namespace, name)
	if err != nil {
		return nil, fmt.Errorf("kubetest: get: %w", err)
	}
	return c.Do(ctx, http.MethodGet, path, nil, "")
}

// Token returns a token of ServiceAccount sa in namespace ns from the
// TokenRequest API, as the kubelet mounts one into a pod.
func (c *Cluster) Token(ctx context.Context, ns, sa string) (string, error) {
	body := []byte(`{"apiVersion":"authentication.k8s.io/v1","kind":"TokenRequest","spec":{"expirationSeconds":3600}}`)
	out, err := c.Do(ctx, http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts/"+sa+"/token", body, "application/json")
	if err != nil {
		return "", err
	}
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	if err := json.Unmarshal(out, &tr); err != nil || tr.Status.Token == "" {
		return "", fmt.Errorf("kubetest: token of %s/%s: no token in %.200s (%v)", ns, sa, out, err)
	}
	return tr.Status.Token, nil
}

// resource is one entry of the API server's discovery.
type resource struct {
	name       string
	namespaced bool
}

// objectPath returns the REST path of an object, from the API server's
// discovery of apiVersion.
func (c *Cluster) objectPath(ctx context.Context, apiVersion, kind, namespace, name string) (string, error) {
	if apiVersion == "" || kind == "" || name == "" {
		return "", fmt.Errorf("object needs apiVersion, kind and metadata.name (got %q, %q, %q)", apiVersion, kind, name)
	}
	r, err := c.resourceFor(ctx, apiVersion, kind)
	if err != nil {
		return "", err
	}
	prefix := "/apis/" + apiVersion
	if !strings.Contains(apiVersion, "/") {
		prefix = "/api/" + apiVersion
	}
	if !r.namespaced {
		return prefix + "/" + r.name + "/" + name, nil
	}
	if namespace == "" {
		namespace = "default"
	}
	return prefix + "/namespaces/" + namespace + "/" + r.name + "/" + name, nil
}

func (c *Cluster) resourceFor(ctx context.Context, apiVersion, kind string) (resource, error) {
	c.discoveryMu.Lock()
	defer c.discoveryMu.Unlock()
	kinds, ok := c.discovery[apiVersion]
	if !ok || kinds[kind].name == "" {
		path := "/apis/" + apiVersion
		if !strings.Contains(apiVersion, "/") {
			path = "/api/" + apiVersion
		}
		out, err := c.Do(ctx, http.MethodGet, path, nil, "")
		if err != nil {
			return resource{}, err
		}
		var list metav1.APIResourceList
		if err := json.Unmarshal(out, &list); err != nil {
			return resource{}, fmt.Errorf("discovery of %s: %w", apiVersion, err)
		}
		kinds = map[string]resource{}
		for _, r := range list.APIResources {
			if !strings.Contains(r.Name, "/") {
				kinds[r.Kind] = resource{name: r.Name, namespaced: r.Namespaced}
			}
		}
		c.discovery[apiVersion] = kinds
	}
	r, ok := kinds[kind]
	if !ok {
		return resource{}, fmt.Errorf("the API server serves no kind %s in %s", kind, apiVersion)
	}
	return r, nil
}

// Kubeconfig writes a kubeconfig for bearer token token under the cluster's
// directory and returns its path. name names the file (and its context).
func (c *Cluster) Kubeconfig(name, token string) (string, error) {
	cfg := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: kubetest
  cluster:
    server: %s
    certificate-authority: %s
users:
- name: %s
  user:
    token: %s
contexts:
- name: %s
  context:
    cluster: kubetest
    user: %s
current-context: %s
`, c.URL(), c.pki.caFile, name, token, name, name, name)
	path := c.dir + "/" + name + ".kubeconfig"
	if err := writeFile(path, cfg); err != nil {
		return "", err
	}
	return path, nil
}
