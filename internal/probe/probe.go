// Package probe asks the local Istio agent and Envoy admin endpoint whether a
// sidecar is present and ready.
package probe

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Result is the outcome of one probe.
type Result struct {
	// Answered reports whether something answered HTTP at the address.
	Answered bool
	// Ready reports whether it said it is ready.
	Ready bool
	// Detail says what happened, for logs and reasons ("status 503",
	// "connection refused").
	Detail string
}

// client makes one request per connection, so that no idle connection (and
// goroutine) outlives a probe.
var client = &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}

// timeout bounds one probe when ctx has no earlier deadline.
const timeout = 2 * time.Second

// Istio asks the Istio agent at addr for GET /healthz/ready; 200 is ready.
func Istio(ctx context.Context, addr string) Result {
	code, _, err := get(ctx, "http://"+addr+"/healthz/ready")
	return result(code, code == http.StatusOK, err)
}

// Envoy asks the Envoy admin endpoint at addr for GET /ready; 200 with the
// body "LIVE" is ready.
func Envoy(ctx context.Context, addr string) Result {
	code, body, err := get(ctx, "http://"+addr+"/ready")
	return result(code, code == http.StatusOK && strings.TrimSpace(body) == "LIVE", err)
}

func result(code int, ready bool, err error) Result {
	if err != nil {
		return Result{Detail: err.Error()}
	}
	return Result{Answered: true, Ready: ready, Detail: fmt.Sprintf("status %d", code)}
}

func get(ctx context.Context, url string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1024))
	if err != nil {
		return 0, "", err
	}
	return resp.StatusCode, string(body), nil
}
