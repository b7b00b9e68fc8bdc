//go:build istiod

package istiod

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// maxBody bounds what is read from one istiod debug answer.
const maxBody = 64 << 20

// httpGetter reads istiod's debug endpoints on loopback. Its own transport
// lets close drop idle connections, so that no goroutine outlives a Server.
type httpGetter struct {
	tr     *http.Transport
	client *http.Client
}

func newHTTPGetter() httpGetter {
	tr := &http.Transport{Proxy: nil, MaxIdleConns: 2, IdleConnTimeout: 10 * time.Second}
	return httpGetter{tr: tr, client: &http.Client{Transport: tr}}
}

// get returns the body of a 200 answer to a GET of url.
func (g httpGetter) get(ctx context.Context, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return body, fmt.Errorf("GET %s: %s: %.200s", url, resp.Status, body)
	}
	return body, nil
}

func (g httpGetter) close() { g.tr.CloseIdleConnections() }
