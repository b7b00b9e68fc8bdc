package main

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshmatch/meshmatch/examples/internal/clitest"
	"github.com/meshmatch/meshmatch/examples/internal/director"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// TestMain keeps the tests on loopback: without a forced strategy, the
// default chain's xDS detection would ask the system resolver for istiod.
func TestMain(m *testing.M) {
	os.Setenv("MESHMATCH_STRATEGY", "headless")
	goleak.VerifyTestMain(m)
}

// TestAssignAndRelease runs two rounds where the second allocation fails:
// round 1 assigns one match and releases the other, round 2 matches the
// released players again and assigns them.
func TestAssignAndRelease(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	core := clitest.NewCore(t, game.Rules{TeamSize: 2})
	var ids []string
	for s := range 8 {
		tk, err := core.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{SearchFields: &pb.SearchFields{
			StringArgs: map[string]string{game.RegionArg: "eu"},
			DoubleArgs: map[string]float64{game.SkillArg: float64(s)},
		}}})
		require.NoError(t, err)
		ids = append(ids, tk.GetId())
	}

	var stdout, stderr clitest.Output
	code := run(ctx, []string{"-backend", core.Addr(), "-mmf-host", "127.0.0.1", "-rounds", "2", "-interval", "0s", "-fail-every", "2"}, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	out := stdout.String()
	assert.Contains(t, out, "round 1: 2 matches, 4 tickets assigned, 4 released (1 allocations failed)")
	assert.Contains(t, out, "round 2: 1 matches, 4 tickets assigned, 0 released (0 allocations failed)")
	assert.Contains(t, out, "director: done after 2 rounds: 3 matches, 8 tickets assigned, 4 released")

	servers := map[string]int{}
	for _, id := range ids {
		tk, err := core.Frontend().GetTicket(ctx, &pb.GetTicketRequest{TicketId: id})
		require.NoError(t, err)
		a := tk.GetAssignment()
		require.NotEmpty(t, a.GetConnection(), "ticket %s has no assignment", id)
		servers[a.GetConnection()]++
		var team wrapperspb.StringValue
		require.NoError(t, a.GetExtensions()[director.TeamExtension].UnmarshalTo(&team), "team of ticket %s", id)
		assert.Contains(t, []string{game.Red, game.Blue}, team.GetValue())
	}
	assert.Equal(t, map[string]int{"gs-1.example:7777": 4, "gs-3.example:7777": 4}, servers, "players per game server")
}

func TestStopsOnCancel(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	core := clitest.NewCore(t, game.Rules{TeamSize: 2})
	runCtx, stop := context.WithCancel(ctx)
	var stdout, stderr clitest.Output
	code := make(chan int, 1)
	go func() {
		code <- run(runCtx, []string{"-backend", core.Addr(), "-interval", "1h"}, &stdout, &stderr)
	}()
	require.NoError(t, stdout.WaitFor(ctx, "round 1:"))
	stop()
	assert.Equal(t, 0, <-code, "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "director: done after 1 rounds")
}

func TestRunBadInput(t *testing.T) {
	closed := clitest.ClosedAddr(t)
	clitest.RunCases(t, run, []clitest.Case{
		{Name: "malformed metrics address", Args: []string{"-metrics-addr", "nowhere"}, Code: 2, Stderr: "-metrics-addr: invalid address"},
		{Name: "negative rounds", Args: []string{"-rounds", "-1"}, Code: 2, Stderr: "director: -rounds must not be negative, got -1"},
		{Name: "port 0", Args: []string{"-mmf-port", "0"}, Code: 2, Stderr: "-mmf-host and -mmf-port: invalid address"},
		{Name: "port too high", Args: []string{"-mmf-port", "70000"}, Code: 2, Stderr: "-mmf-host and -mmf-port: invalid address"},
		{Name: "bad mmf host", Args: []string{"-mmf-host", "no_such..host"}, Code: 2, Stderr: "-mmf-host and -mmf-port: invalid address"},
		{Name: "malformed backend", Args: []string{"-backend", "backend"}, Code: 2, Stderr: "-backend: invalid address"},
		{Name: "zero timeout", Args: []string{"-timeout", "0s"}, Code: 2, Stderr: "-timeout must be positive"},
		{Name: "negative interval", Args: []string{"-interval", "-1s"}, Code: 2, Stderr: "-interval must not be negative"},
		{
			Name: "unreachable backend", Code: 1,
			Stderr: "director: round 1: all 12 profiles failed, first: profile ",
			Args:   []string{"-backend", closed, "-rounds", "1", "-timeout", "300ms"},
		},
	})
}
