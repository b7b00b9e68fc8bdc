package main

import (
	"bytes"
	"context"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var loopbackFlags = []string{"-frontend", "127.0.0.1:0", "-backend", "127.0.0.1:0", "-query", "127.0.0.1:0",
	"-frontend-http", "127.0.0.1:0", "-backend-http", "127.0.0.1:0", "-query-http", "127.0.0.1:0"}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	ready := make(chan *omtest.Server, 1)
	done := make(chan error, 1)
	var stderr bytes.Buffer
	go func() { done <- run(runCtx, loopbackFlags, &stderr, func(s *omtest.Server) { ready <- s }) }()

	var s *omtest.Server
	select {
	case s = <-ready:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	case <-ctx.Done():
		t.Fatal("core did not start")
	}
	assert.NotEqual(t, s.FrontendAddr(), s.BackendAddr())
	tk, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
	_, err = s.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: tk.GetId()})
	require.NoError(t, err)

	stop()
	select {
	case err := <-done:
		assert.NoError(t, err)
		assert.Equal(t, 0, exitCode(err))
	case <-ctx.Done():
		t.Fatal("run did not stop")
	}
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
