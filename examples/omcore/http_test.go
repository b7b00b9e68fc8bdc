package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/testing/omtest"
)

// startGateways starts a core and its three HTTP gateways on loopback.
func startGateways(t *testing.T, hc httpConfig) *gateways {
	t.Helper()
	s, err := omtest.Start(omtest.Config{FrontendAddr: "127.0.0.1:0", BackendAddr: "127.0.0.1:0", QueryAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	var out bytes.Buffer
	g, err := hc.start(s, &out)
	if err != nil {
		assert.NoError(t, s.Close())
		t.Fatalf("start gateways: %v", err)
	}
	t.Cleanup(func() {
		assert.NoError(t, g.Close())
		assert.NoError(t, s.Close())
	})
	return g
}

var loopbackHTTP = httpConfig{frontend: "127.0.0.1:0", backend: "127.0.0.1:0", query: "127.0.0.1:0"}

// call sends one request and returns the status and body.
func call(ctx context.Context, t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

// decode parses one JSON object.
func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(s), &m), "body %q", s)
	return m
}

func TestHTTPTicketLifecycle(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := startGateways(t, loopbackHTTP)
	fe, q := "http://"+g.addrs["frontend-http"], "http://"+g.addrs["query-http"]

	code, body := call(ctx, t, "POST", fe+"/v1/frontendservice/tickets",
		`{"ticket":{"search_fields":{"tags":["mode.duel"],"double_args":{"skill":3.5}}}}`)
	require.Equal(t, http.StatusOK, code, "create: %s", body)
	created := decode(t, body)
	id, _ := created["id"].(string)
	require.Len(t, id, 20, "created ticket %s", body)
	assert.Contains(t, created, "create_time", "proto field names, not camelCase")
	assert.Contains(t, created, "search_fields")
	assert.NotContains(t, created, "assignment", "unpopulated fields are left out")

	code, body = call(ctx, t, "GET", fe+"/v1/frontendservice/tickets/"+id, "")
	require.Equal(t, http.StatusOK, code, "get: %s", body)
	assert.Equal(t, id, decode(t, body)["id"])

	code, body = call(ctx, t, "POST", q+"/v1/queryservice/ticketids:query", `{"pool":{"tag_present_filters":[{"tag":"mode.duel"}]}}`)
	require.Equal(t, http.StatusOK, code, "query: %s", body)
	assert.JSONEq(t, `{"result":{"ids":["`+id+`"]}}`, strings.TrimSpace(body))

	code, body = call(ctx, t, "POST", q+"/v1/queryservice/tickets:query", `{"pool":{"tag_present_filters":[{"tag":"none"}]}}`)
	require.Equal(t, http.StatusOK, code, "query: %s", body)
	assert.Empty(t, strings.TrimSpace(body), "no ticket matches, so no page is streamed")

	code, body = call(ctx, t, "DELETE", fe+"/v1/frontendservice/tickets/"+id, "")
	require.Equal(t, http.StatusOK, code, "delete: %s", body)
	assert.JSONEq(t, `{}`, body)
}

func TestHTTPWatchAssignments(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := startGateways(t, loopbackHTTP)
	fe, be := "http://"+g.addrs["frontend-http"], "http://"+g.addrs["backend-http"]
	code, body := call(ctx, t, "POST", fe+"/v1/frontendservice/tickets", `{"ticket":{}}`)
	require.Equal(t, http.StatusOK, code, "create: %s", body)
	id := decode(t, body)["id"].(string)

	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	lines := make(chan string, 1)
	go func() { lines <- firstLine(watchCtx, fe+"/v1/frontendservice/tickets/"+id+"/assignments") }()

	code, body = call(ctx, t, "POST", be+"/v1/backendservice/tickets:assign",
		`{"assignments":[{"ticket_ids":["`+id+`"],"assignment":{"connection":"127.0.0.1:7777"}}]}`)
	require.Equal(t, http.StatusOK, code, "assign: %s", body)
	assert.JSONEq(t, `{}`, body, "no failures")

	select {
	case line := <-lines:
		assert.JSONEq(t, `{"result":{"assignment":{"connection":"127.0.0.1:7777"}}}`, line)
	case <-ctx.Done():
		t.Fatal("no assignment streamed")
	}
}

// firstLine opens a streaming GET and returns its status and first line.
func firstLine(ctx context.Context, url string) string {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	if err != nil {
		return err.Error()
	}
	return line
}

func TestHTTPErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := startGateways(t, loopbackHTTP)
	fe, be, q := "http://"+g.addrs["frontend-http"], "http://"+g.addrs["backend-http"], "http://"+g.addrs["query-http"]
	tests := []struct {
		name, method, url, body string
		wantStatus              int
		wantBody                string
	}{
		{name: "unknown ticket", method: "GET", url: fe + "/v1/frontendservice/tickets/nope",
			wantStatus: http.StatusNotFound, wantBody: `{"code":5,"message":"Ticket id: nope not found"}`},
		{name: "watch unknown ticket", method: "GET", url: fe + "/v1/frontendservice/tickets/nope/assignments",
			wantStatus: http.StatusNotFound, wantBody: `{"error":{"code":5,"message":"Ticket id: nope not found"}}`},
		{name: "create with assignment", method: "POST", url: fe + "/v1/frontendservice/tickets", body: `{"ticket":{"assignment":{}}}`,
			wantStatus: http.StatusBadRequest, wantBody: `{"code":3,"message":"tickets cannot be created with an assignment"}`},
		{name: "create without ticket", method: "POST", url: fe + "/v1/frontendservice/tickets", body: `{}`,
			wantStatus: http.StatusBadRequest, wantBody: `{"code":3,"message":".ticket is required"}`},
		{name: "query without pool", method: "POST", url: q + "/v1/queryservice/tickets:query", body: `{}`,
			wantStatus: http.StatusBadRequest, wantBody: `{"error":{"code":3,"message":".pool is required"}}`},
		{name: "assign without assignment", method: "POST", url: be + "/v1/backendservice/tickets:assign",
			body: `{"assignments":[{"ticket_ids":["a"]}]}`, wantStatus: http.StatusBadRequest,
			wantBody: `{"code":3,"message":"AssignmentGroup.Assignment is required"}`},
		{name: "acknowledge unknown backfill", method: "POST", url: fe + "/v1/frontendservice/backfills/nope/acknowledge",
			body: `{"assignment":{}}`, wantStatus: http.StatusNotFound, wantBody: `{"code":5,"message":"Backfill id: nope not found"}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(ctx, t, tc.method, tc.url, tc.body)
			assert.Equal(t, tc.wantStatus, code, "%s %s = %d %s, want %d", tc.method, tc.url, code, body, tc.wantStatus)
			assert.JSONEq(t, tc.wantBody, strings.TrimSpace(body))
		})
	}
}

// TestHTTPBadJSON checks that a body the gateway cannot decode is a 400 and
// creates nothing.
func TestHTTPBadJSON(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := startGateways(t, loopbackHTTP)
	fe, q := "http://"+g.addrs["frontend-http"], "http://"+g.addrs["query-http"]
	for _, body := range []string{`{"ticket":`, `{"ticket":{"serch_fields":{}}}`, `{"ticket":{"id":7}}`} {
		code, resp := call(ctx, t, "POST", fe+"/v1/frontendservice/tickets", body)
		assert.Equal(t, http.StatusBadRequest, code, "create %s = %d %s, want 400", body, code, resp)
		assert.Equal(t, 3.0, decode(t, resp)["code"], "InvalidArgument")
	}
	code, body := call(ctx, t, "POST", q+"/v1/queryservice/ticketids:query", `{"pool":{}}`)
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, strings.TrimSpace(body), "a rejected body must create no ticket")
}

func TestHTTPHealthz(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	g := startGateways(t, loopbackHTTP)
	for _, addr := range g.addrs {
		code, body := call(ctx, t, "GET", "http://"+addr+"/healthz", "")
		assert.Equal(t, http.StatusOK, code, "GET http://%s/healthz = %d %s", addr, code, body)
	}
}

func TestHTTPOff(t *testing.T) {
	g := startGateways(t, httpConfig{query: "127.0.0.1:0"})
	assert.Equal(t, []string{"query-http"}, keys(g.addrs))
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRunPrintsHTTP checks that run starts the gateways from its flags and
// says where they listen before the core counts as ready.
func TestRunPrintsHTTP(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	printed := make(chan string, 1)
	args := []string{"-frontend", "127.0.0.1:0", "-backend", "127.0.0.1:0", "-query", "127.0.0.1:0",
		"-frontend-http", "127.0.0.1:0", "-backend-http", "", "-query-http", "127.0.0.1:0"}
	err := run(ctx, args, &stderr, func(*omtest.Server) { printed <- stderr.String(); cancel() })
	require.NoError(t, err)
	out := <-printed
	assert.Regexp(t, `omcore: HTTP/JSON frontend http://127\.0\.0\.1:\d+, query http://127\.0\.0\.1:\d+\n`, out)
	assert.NotContains(t, out, "backend http")
}

func TestRunHTTPPortInUse(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	var stderr bytes.Buffer
	args := append(append([]string{}, loopbackFlags...), "-query-http", busy.Addr().String())
	err = run(ctx, args, &stderr, func(*omtest.Server) { t.Error("core must not count as ready") })
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, stderr.String(), "omcore: -query-http: listen tcp "+busy.Addr().String())
}
