package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

var replicaFlags = []string{"-replicas", "3", "-admin", "127.0.0.1:0", "-metrics-addr", "127.0.0.1:0",
	"-frontend", "127.0.0.1:0", "-backend", "127.0.0.1:0", "-query", "127.0.0.1:0",
	"-frontend-http", "127.0.0.1:0", "-backend-http", "", "-query-http", ""}

// admin sends one request to the admin endpoint and returns status and body.
func admin(ctx context.Context, t *testing.T, addr, method, path string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, "http://"+addr+path, nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var b bytes.Buffer
	_, err = b.ReadFrom(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, strings.TrimSpace(b.String())
}

func find(t *testing.T, re, out string) string {
	t.Helper()
	m := regexp.MustCompile(re).FindStringSubmatch(out)
	require.Len(t, m, 2, "%s in %q", re, out)
	return m[1]
}

// -replicas 3 runs each service as three replicas on 127.0.0.1-3 with one
// port each, over one state; the admin endpoint lists, stops, drains and
// restarts them; /metrics labels each replica's server calls.
func TestRunReplicas(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, out, stop := startCoreOut(ctx, t, replicaFlags...)
	defer stop()
	defer http.DefaultClient.CloseIdleConnections()
	fes := s.ReplicaAddrs(omtest.ServiceFrontend)
	require.Len(t, fes, 3)
	port := strings.TrimPrefix(fes[0], "127.0.0.1:")
	assert.Equal(t, []string{"127.0.0.1:" + port, "127.0.0.2:" + port, "127.0.0.3:" + port}, fes)
	assert.Contains(t, out, "omcore: frontend "+strings.Join(fes, ",")+", backend ")
	adminAddr := find(t, `omcore: admin (\S+) \(GET /replicas`, out)
	metricsAddr := find(t, `omcore: metrics on http://(\S+)/metrics`, out)

	code, body := admin(ctx, t, adminAddr, http.MethodGet, "/replicas")
	require.Equal(t, http.StatusOK, code, body)
	var list []replicaJSON
	require.NoError(t, json.Unmarshal([]byte(body), &list))
	require.Len(t, list, 9)
	assert.Equal(t, replicaJSON{Services: []omtest.Service{omtest.ServiceFrontend}, Index: 1, Addr: fes[1], Running: true}, list[1])

	// Every frontend replica serves calls; the one state sees them all.
	calls := 0
	perReplica := func() []float64 {
		fams, err := metrics.Scrape(ctx, metricsAddr)
		require.NoError(t, err)
		var n []float64
		for _, a := range fes {
			n = append(n, metrics.Value(fams, "grpc_server_call_started_total", "replica", a, "grpc_method", "openmatch.FrontendService/CreateTicket"))
		}
		return n
	}
	for n := perReplica(); n[0] == 0 || n[1] == 0 || n[2] == 0; n = perReplica() {
		_, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
		require.NoError(t, err)
		calls++
	}
	n := perReplica()
	assert.Equal(t, float64(calls), n[0]+n[1]+n[2], "the replicas' CreateTicket series %v add up to the calls made", n)

	for _, tc := range []struct {
		method, path string
		code         int
		body         string
	}{
		{method: "POST", path: "/replicas/frontend/1/stop", code: 200, body: fmt.Sprintf(`{"services":["frontend"],"index":1,"addr":%q,"running":false}`, fes[1])},
		{method: "POST", path: "/replicas/frontend/1/stop", code: 409, body: "omtest: replica frontend/1 (" + fes[1] + ") is already stopped"},
		{method: "POST", path: "/replicas/frontend/1/drain", code: 409, body: "omtest: replica frontend/1 (" + fes[1] + ") is already stopped"},
		{method: "POST", path: "/replicas/frontend/3/stop", code: 404, body: "omtest: no replica frontend/3: frontend has 3 (0 to 2): no such replica"},
		{method: "POST", path: "/replicas/evaluator/0/stop", code: 404, body: `omtest: unknown service "evaluator" (want frontend, backend or query): no such replica`},
		{method: "POST", path: "/replicas/frontend/one/stop", code: 400, body: `omcore: replica index "one" is not a number`},
		{method: "POST", path: "/replicas/frontend/0/pause", code: 400, body: `omcore: unknown replica action "pause" (want stop, drain or restart): bad request`},
		{method: "POST", path: "/replicas/query/2/drain?timeout=soon", code: 400, body: `omcore: drain timeout "soon" is not a positive duration: bad request`},
		{method: "GET", path: "/replicas/frontend/1/restart", code: 405},
		{method: "POST", path: "/replicas/frontend/1/restart", code: 200, body: fmt.Sprintf(`{"services":["frontend"],"index":1,"addr":%q,"running":true}`, fes[1])},
		{method: "POST", path: "/replicas/frontend/1/restart", code: 409, body: "omtest: replica frontend/1 (" + fes[1] + ") is running"},
		{method: "POST", path: "/replicas/query/2/drain?timeout=5s", code: 200, body: fmt.Sprintf(`{"services":["query"],"index":2,"addr":%q,"running":false}`, s.ReplicaAddrs(omtest.ServiceQuery)[2])},
	} {
		code, body := admin(ctx, t, adminAddr, tc.method, tc.path)
		assert.Equal(t, tc.code, code, "%s %s = %d %s, want %d", tc.method, tc.path, code, body, tc.code)
		if tc.body != "" {
			assert.Equal(t, tc.body, body, "%s %s", tc.method, tc.path)
		}
	}
	_, err := pb.NewFrontendServiceClient(dialAt(t, fes[1])).CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	assert.NoError(t, err, "the restarted frontend/1 serves")
}

// A replica restarted through the admin endpoint on an address another
// program took gets 409 naming the address; the other replicas serve on.
func TestRunReplicaRestartAddressTaken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, out, stop := startCoreOut(ctx, t, replicaFlags...)
	defer stop()
	defer http.DefaultClient.CloseIdleConnections()
	adminAddr := find(t, `omcore: admin (\S+) \(GET /replicas`, out)
	bes := s.ReplicaAddrs(omtest.ServiceBackend)
	code, body := admin(ctx, t, adminAddr, "POST", "/replicas/backend/2/stop")
	require.Equal(t, http.StatusOK, code, body)
	squatter, err := net.Listen("tcp", bes[2])
	require.NoError(t, err)
	defer squatter.Close()
	code, body = admin(ctx, t, adminAddr, "POST", "/replicas/backend/2/restart")
	assert.Equal(t, http.StatusConflict, code)
	assert.Contains(t, body, "omtest: restart replica backend/2: listen on "+bes[2]+": ")
	for _, a := range bes[:2] {
		_, err := pb.NewBackendServiceClient(dialAt(t, a)).ReleaseAllTickets(ctx, &pb.ReleaseAllTicketsRequest{})
		assert.NoError(t, err, "backend at %s serves on", a)
	}
}

func TestRunReplicaFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantOut string
	}{
		{name: "zero replicas", args: []string{"-replicas", "0"}, wantOut: "omcore: -replicas must be at least 1, got 0"},
		{name: "negative replicas", args: []string{"-replicas", "-3"}, wantOut: "omcore: -replicas must be at least 1, got -3"},
		{name: "list shorter than -replicas", args: []string{"-replicas", "3", "-frontend", "127.0.0.1:0,127.0.0.2:0"},
			wantOut: "omcore: -frontend lists 2 addresses for 3 replicas"},
		{name: "lists of different lengths", args: []string{"-frontend", "127.0.0.1:0,127.0.0.2:0", "-query", "127.0.0.1:0,127.0.0.2:0,127.0.0.3:0"},
			wantOut: "omcore: -query lists 3 addresses for 2 replicas"},
		{name: "empty address in a list", args: []string{"-backend", "127.0.0.1:0,,127.0.0.3:0"},
			wantOut: `omcore: -backend: empty address in "127.0.0.1:0,,127.0.0.3:0"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			err := run(ctx, tc.args, &stderr, func(*omtest.Server) { t.Error("core must not start") })
			require.Error(t, err)
			assert.Equal(t, 2, exitCode(err), "exitCode(%v)", err)
			assert.Contains(t, stderr.String(), tc.wantOut)
		})
	}
}

// Listing the addresses sets the replica count, and the HTTP gateway
// forwards to the replicas.
func TestRunReplicaLists(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, out, stop := startCoreOut(ctx, t, "-frontend", "127.0.0.1:0,127.0.0.1:0", "-backend", "127.0.0.1:0", "-query", "127.0.0.1:0",
		"-frontend-http", "127.0.0.1:0", "-backend-http", "", "-query-http", "")
	defer stop()
	defer http.DefaultClient.CloseIdleConnections()
	fes := s.ReplicaAddrs(omtest.ServiceFrontend)
	require.Len(t, fes, 2)
	assert.NotEqual(t, fes[0], fes[1])
	assert.Len(t, s.ReplicaAddrs(omtest.ServiceBackend), 2, "a single backend address counts up to the second replica")
	gw := find(t, `HTTP/JSON frontend http://(\S+)`, out)
	code, body := call(ctx, t, "POST", "http://"+gw+"/v1/frontendservice/tickets", `{"ticket":{}}`)
	assert.Equal(t, http.StatusOK, code, body)
}

// dialAt connects to one address, closed at cleanup.
func dialAt(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}
