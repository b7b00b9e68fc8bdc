package main

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/examples/internal/clitest"
	"github.com/meshmatch/meshmatch/examples/internal/game"
)

// TestMain keeps the tests on loopback: without a forced strategy, the
// default chain's xDS detection would ask the system resolver for istiod.
func TestMain(m *testing.M) {
	os.Setenv("MESHMATCH_STRATEGY", "headless")
	goleak.VerifyTestMain(m)
}

// TestPlayersAssigned runs the frontend against a core with the team match
// function and a director; every player must see its game server.
func TestPlayersAssigned(t *testing.T) {
	// Leftovers play short-handed at once, so every player gets a match
	// whatever regions and skills the seed gives.
	core := clitest.NewCore(t, game.Rules{TeamSize: 2, MaxWait: time.Nanosecond})
	clitest.StartDirector(t, core)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var stdout, stderr clitest.Output
	code := run(ctx, []string{"-frontend", core.Addr(), "-players", "25", "-timeout", "10s"}, &stdout, &stderr)
	require.Equal(t, 0, code, "stderr: %s", stderr.String())
	out := stdout.String()
	assert.Equal(t, 25, strings.Count(out, ".example:7777 team "), "assignment lines in:\n%s", out)
	assert.Contains(t, out, "frontend: 25 of 25 players assigned; latency p50 ")
	assert.Empty(t, stderr.String())
}

func TestRunBadInput(t *testing.T) {
	closed := clitest.ClosedAddr(t)
	clitest.RunCases(t, run, []clitest.Case{
		{Name: "malformed metrics address", Args: []string{"-metrics-addr", "nowhere"}, Code: 2, Stderr: "-metrics-addr: invalid address"},
		{Name: "negative players", Args: []string{"-players", "-1"}, Code: 2, Stderr: "frontend: -players must be positive, got -1"},
		{Name: "no players", Args: []string{"-players", "0"}, Code: 2, Stderr: "-players must be positive"},
		{Name: "negative rate", Args: []string{"-rate", "-5"}, Code: 2, Stderr: "-rate must not be negative"},
		{Name: "malformed frontend", Args: []string{"-frontend", "127.0.0.1"}, Code: 2, Stderr: "-frontend: invalid address"},
		{Name: "zero timeout", Args: []string{"-timeout", "0s"}, Code: 2, Stderr: "-timeout must be positive"},
		{
			Name: "unreachable frontend", Code: 1,
			Stderr: "frontend: players: 3 of 3 players not assigned, first: create ticket: ",
			Args:   []string{"-frontend", closed, "-players", "3", "-timeout", "300ms"},
		},
	})
}
