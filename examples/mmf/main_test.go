package main

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/examples/internal/clitest"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// TestMain keeps the tests on loopback: without a forced strategy, the
// default chain's xDS detection would ask the system resolver for istiod.
func TestMain(m *testing.M) {
	os.Setenv("MESHMATCH_STRATEGY", "headless")
	goleak.VerifyTestMain(m)
}

func createPlayers(ctx context.Context, t *testing.T, fe pb.FrontendServiceClient, region string, skills ...float64) {
	t.Helper()
	for _, s := range skills {
		_, err := fe.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{SearchFields: &pb.SearchFields{
			StringArgs: map[string]string{game.RegionArg: region},
			DoubleArgs: map[string]float64{game.SkillArg: s},
		}}})
		require.NoError(t, err)
	}
}

// TestServeFetchMatches serves the match function on loopback and has the
// in-memory core call it through a real FetchMatches.
func TestServeFetchMatches(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	core := omtest.NewServer(t)
	createPlayers(ctx, t, core.Frontend(), "eu", 1, 2, 3, 4, 20, 21, 22, 23, 24)
	createPlayers(ctx, t, core.Frontend(), "us", 5, 6, 7, 8)

	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := lis.Addr().(*net.TCPAddr).Port
	c := config{listen: lis.Addr().String(), query: core.Addr(), teamSize: 2, timeout: 5 * time.Second}
	serveCtx, stop := context.WithCancel(ctx)
	var out clitest.Output
	served := make(chan error, 1)
	go func() { served <- serve(serveCtx, c, lis, &out, &metrics.Endpoint{}) }()
	require.NoError(t, out.WaitFor(ctx, "mmf: serving on"))

	be := omclient.NewBackend(core.Conn())
	profile := game.Profiles()[0] // eu, skill [0, 25)
	matches, err := be.FetchMatches(ctx, &pb.FunctionConfig{Host: "127.0.0.1", Port: int32(port)}, profile)
	require.NoError(t, err)
	require.Len(t, matches, 2, "FetchMatches(%s) = %d matches, want 2 (8 of 9 eu players)", profile.GetName(), len(matches))
	for _, m := range matches {
		assert.Len(t, m.GetTickets(), 4)
		teams, err := game.Teams(m)
		require.NoError(t, err)
		assert.Len(t, teams[game.Red], 2, "red team of %s", m.GetMatchId())
		assert.Len(t, teams[game.Blue], 2, "blue team of %s", m.GetMatchId())
		_, ok := game.Score(m)
		assert.True(t, ok, "match %s has no score", m.GetMatchId())
		assert.LessOrEqual(t, game.Spread(m), 4.0, "spread of %s", m.GetMatchId())
		for _, tk := range m.GetTickets() {
			assert.Equal(t, "eu", game.Region(tk))
		}
	}

	stop()
	require.NoError(t, <-served)
	assert.Contains(t, out.String(), "mmf: stopped")
}

func TestRunStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	core := omtest.NewServer(t)
	runCtx, stop := context.WithCancel(ctx)
	var stdout, stderr clitest.Output
	code := make(chan int, 1)
	go func() {
		code <- run(runCtx, []string{"-listen", "127.0.0.1:0", "-query", core.Addr()}, &stdout, &stderr)
	}()
	require.NoError(t, stdout.WaitFor(ctx, "mmf: serving on 127.0.0.1:"))
	stop()
	assert.Equal(t, 0, <-code, "stderr: %s", stderr.String())
}

func TestRunBadInput(t *testing.T) {
	closed := clitest.ClosedAddr(t)
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	clitest.RunCases(t, run, []clitest.Case{
		{Name: "team size 0", Args: []string{"-team-size", "0"}, Code: 2, Stderr: "mmf: -team-size must be positive, got 0"},
		{Name: "negative max wait", Args: []string{"-max-wait", "-1s"}, Code: 2, Stderr: "-max-wait must not be negative"},
		{Name: "malformed listen", Args: []string{"-listen", "nowhere"}, Code: 2, Stderr: "-listen: invalid address"},
		{Name: "malformed query", Args: []string{"-query", "query:port"}, Code: 2, Stderr: "-query: invalid address"},
		{Name: "malformed metrics address", Args: []string{"-metrics-addr", "nowhere"}, Code: 2, Stderr: "-metrics-addr: invalid address"},
		{Name: "unknown flag", Args: []string{"-nope"}, Code: 2, Stderr: "flag provided but not defined: -nope"},
		{Name: "extra argument", Args: []string{"extra"}, Code: 2, Stderr: `unexpected arguments ["extra"]`},
		{Name: "port in use", Args: []string{"-listen", busy.Addr().String()}, Code: 1, Stderr: "mmf: listen:"},
		{
			Name: "unreachable query", Code: 1, Stderr: "mmf: query service unreachable:",
			Args: []string{"-listen", "127.0.0.1:0", "-query", closed, "-timeout", "300ms"},
		},
	})
}
