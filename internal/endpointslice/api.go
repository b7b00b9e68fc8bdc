package endpointslice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// errGone is a watch whose resourceVersion the API server no longer has
// (410 Gone): the caller lists again.
var errGone = errors.New("endpointslice: watch expired (410 Gone)")

// watchTimeout is how long the API server keeps one watch open; the
// resolver then watches again from the last resourceVersion.
const watchTimeout = 5 * 60

// slicesPath returns the collection path and the query selecting t's
// EndpointSlices.
func (c *client) query(t Target, q url.Values) string {
	q.Set("labelSelector", discoveryv1.LabelServiceName+"="+t.Name)
	return c.base + "/apis/discovery.k8s.io/v1/namespaces/" + t.Namespace + "/endpointslices?" + q.Encode()
}

// get starts a GET of u with the current token and checks its status.
func (c *client) get(ctx context.Context, verb string, t Target, u string) (*http.Response, error) {
	tok, err := readToken(c.tokenFile)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("endpointslice: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("endpointslice: %s endpointslices of %s: %w", verb, t, err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return nil, statusError(verb, t, c.tokenFile, resp.StatusCode, body)
}

// statusError turns an API server error answer into an error a person can act on.
func statusError(verb string, t Target, tokenFile string, code int, body []byte) error {
	var st metav1.Status
	msg := string(body)
	if json.Unmarshal(body, &st) == nil && st.Message != "" {
		msg = st.Message
	}
	switch code {
	case http.StatusForbidden:
		return fmt.Errorf("endpointslice: forbidden: the service account may not %s endpointslices.discovery.k8s.io in namespace %s (grant list and watch with a Role and RoleBinding): %s", verb, t.Namespace, msg)
	case http.StatusUnauthorized:
		return fmt.Errorf("endpointslice: unauthorized: the API server rejected the token in %s: %s", tokenFile, msg)
	case http.StatusGone:
		return errGone
	}
	return fmt.Errorf("endpointslice: %s endpointslices of %s: %s: %s", verb, t, http.StatusText(code), msg)
}

// list returns t's EndpointSlices and the list's resourceVersion.
func (c *client) list(ctx context.Context, t Target) (*discoveryv1.EndpointSliceList, error) {
	resp, err := c.get(ctx, "list", t, c.query(t, url.Values{}))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var l discoveryv1.EndpointSliceList
	if err := json.NewDecoder(resp.Body).Decode(&l); err != nil {
		return nil, fmt.Errorf("endpointslice: list endpointslices of %s: decode: %w", t, err)
	}
	return &l, nil
}

// event is one line of a watch.
type event struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

// watcher reads the events of one watch.
type watcher struct {
	body io.ReadCloser
	dec  *json.Decoder
}

// watch starts a watch of t's EndpointSlices after resourceVersion rv.
func (c *client) watch(ctx context.Context, t Target, rv string) (*watcher, error) {
	q := url.Values{}
	q.Set("watch", "1")
	q.Set("resourceVersion", rv)
	q.Set("allowWatchBookmarks", "true")
	q.Set("timeoutSeconds", fmt.Sprint(watchTimeout))
	resp, err := c.get(ctx, "watch", t, c.query(t, q))
	if err != nil {
		return nil, err
	}
	return &watcher{body: resp.Body, dec: json.NewDecoder(resp.Body)}, nil
}

// next returns the next event's type and object. io.EOF means the API
// server ended the watch; errGone that rv expired.
func (w *watcher) next() (string, *discoveryv1.EndpointSlice, error) {
	var ev event
	if err := w.dec.Decode(&ev); err != nil {
		return "", nil, err
	}
	if ev.Type == "ERROR" {
		var st metav1.Status
		if err := json.Unmarshal(ev.Object, &st); err != nil {
			return "", nil, fmt.Errorf("endpointslice: watch error event: %w", err)
		}
		if st.Code == http.StatusGone {
			return "", nil, errGone
		}
		return "", nil, fmt.Errorf("endpointslice: watch error event: %d %s", st.Code, st.Message)
	}
	var s discoveryv1.EndpointSlice
	if err := json.Unmarshal(ev.Object, &s); err != nil {
		return "", nil, fmt.Errorf("endpointslice: watch %s event: decode: %w", ev.Type, err)
	}
	return ev.Type, &s, nil
}

func (w *watcher) close() { w.body.Close() }
