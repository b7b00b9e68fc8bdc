package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var loopbackFlags = []string{"-frontend", "127.0.0.1:0", "-backend", "127.0.0.1:0", "-query", "127.0.0.1:0",
	"-frontend-http", "127.0.0.1:0", "-backend-http", "127.0.0.1:0", "-query-http", "127.0.0.1:0"}

// startCore runs omcore with args until the returned stop is called; stop
// checks that run ended cleanly. stderr holds what run printed up to ready.
func startCore(ctx context.Context, t *testing.T, args ...string) (*omtest.Server, func()) {
	s, _, stop := startCoreOut(ctx, t, args...)
	return s, stop
}

func startCoreOut(ctx context.Context, t *testing.T, args ...string) (*omtest.Server, string, func()) {
	t.Helper()
	runCtx, cancel := context.WithCancel(ctx)
	ready := make(chan *omtest.Server, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() { done <- run(runCtx, args, &stderr, func(s *omtest.Server) { ready <- s }) }()
	var s *omtest.Server
	select {
	case s = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run returned early: %v", err)
	case <-ctx.Done():
		cancel()
		t.Fatal("core did not start")
	}
	out := stderr.String() // run writes nothing more until runCtx ends
	return s, out, func() {
		cancel()
		select {
		case err := <-done:
			assert.NoError(t, err)
			assert.Equal(t, 0, exitCode(err))
		case <-ctx.Done():
			t.Fatal("run did not stop")
		}
	}
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, stop := startCore(ctx, t, loopbackFlags...)
	assert.NotEqual(t, s.FrontendAddr(), s.BackendAddr())
	tk, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
	_, err = s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	stop()
}

// Item 10: -admin serves POST /reset, which empties the core.
func TestRunAdminReset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, out, stop := startCoreOut(ctx, t, append([]string{"-admin", "127.0.0.1:0"}, loopbackFlags...)...)
	defer stop()
	m := regexp.MustCompile(`omcore: admin (\S+) \(POST /reset\)`).FindStringSubmatch(out)
	require.Len(t, m, 2, "admin address in %q", out)
	tk, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)

	for _, tc := range []struct {
		method string
		want   int
	}{
		{method: http.MethodGet, want: http.StatusMethodNotAllowed},
		{method: http.MethodPost, want: http.StatusNoContent},
	} {
		req, err := http.NewRequestWithContext(ctx, tc.method, "http://"+m[1]+"/reset", nil)
		require.NoError(t, err)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, tc.want, resp.StatusCode, "%s /reset = %d, want %d", tc.method, resp.StatusCode, tc.want)
		if tc.method == http.MethodGet {
			_, err = s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
			require.NoError(t, err, "GET /reset must not reset")
		}
	}
	_, err = s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	assert.Equal(t, codes.NotFound, status.Code(err), "GetTicket after reset = %v, want NotFound", err)
	http.DefaultClient.CloseIdleConnections()
}

func TestRunErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantOut  string
	}{
		{name: "unknown flag", args: []string{"-nope"}, wantCode: 2, wantOut: "flag provided but not defined: -nope"},
		{name: "bad duration", args: []string{"-pending-release-timeout", "soon"}, wantCode: 2, wantOut: "invalid value"},
		{name: "non-positive duration", args: []string{"-registration-interval", "0s"}, wantCode: 2, wantOut: "-registration-interval must be positive"},
		{name: "extra arguments", args: []string{"extra"}, wantCode: 2, wantOut: "unexpected arguments"},
		{name: "port in use", args: []string{"-frontend", "127.0.0.1:0", "-backend", busy.Addr().String(), "-query", "127.0.0.1:0"},
			wantCode: 1, wantOut: "omcore: omtest: listen on " + busy.Addr().String()},
		{name: "metrics port in use", args: append([]string{"-metrics-addr", busy.Addr().String()}, loopbackFlags...),
			wantCode: 1, wantOut: "omcore: metrics: listen on " + busy.Addr().String()},
		{name: "admin port in use", args: append([]string{"-admin", busy.Addr().String()}, loopbackFlags...),
			wantCode: 1, wantOut: "omcore: admin: listen on " + busy.Addr().String()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var stderr bytes.Buffer
			err := run(ctx, tc.args, &stderr, func(*omtest.Server) { t.Error("core must not start") })
			require.Error(t, err)
			assert.Equal(t, tc.wantCode, exitCode(err), "exitCode(%v) = %d, want %d", err, exitCode(err), tc.wantCode)
			assert.Contains(t, stderr.String(), tc.wantOut)
		})
	}
}
