package istiotest_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/istiotest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(body))
}

func TestAgent(t *testing.T) {
	a := istiotest.NewAgent(t)
	for _, tc := range []struct {
		ready      bool
		path       string
		wantStatus int
		wantBody   string
	}{
		{ready: true, path: "/healthz/ready", wantStatus: 200},
		{ready: true, path: "/ready", wantStatus: 200, wantBody: "LIVE"},
		{ready: false, path: "/healthz/ready", wantStatus: 503},
		{ready: false, path: "/ready", wantStatus: 503, wantBody: "PRE_INITIALIZING"},
	} {
		a.SetReady(tc.ready)
		code, body := get(t, "http://"+a.Addr()+tc.path)
		if code != tc.wantStatus || body != tc.wantBody {
			t.Errorf("ready=%v GET %s = %d %q, want %d %q", tc.ready, tc.path, code, body, tc.wantStatus, tc.wantBody)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.WaitRequests(ctx, 4); err != nil {
		t.Errorf("WaitRequests(4) = %v", err)
	}
	a.Close()
	a.Close()
}
