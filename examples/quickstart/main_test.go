package main

import (
	"context"
	"io"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/examples/internal/clitest"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// TestMain keeps the tests on loopback: without a forced strategy, the
// default chain's xDS detection would ask the system resolver for istiod.
func TestMain(m *testing.M) {
	os.Setenv("MESHMATCH_STRATEGY", "headless")
	goleak.VerifyTestMain(m)
}

// quickstart parses args, lets adjust change the config, and runs it under
// a 10 s deadline.
func quickstart(t *testing.T, args []string, adjust func(*config)) (*summary, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := parse(args, io.Discard)
	require.NoError(t, err, "parse(%q)", args)
	if adjust != nil {
		adjust(&c)
	}
	var out clitest.Output
	sum, err := c.run(ctx, &out)
	return sum, out.String(), err
}

// checkShares asserts that each of the three replicas served within 10% of a
// third of the Run calls.
func checkShares(t *testing.T, sum *summary) {
	t.Helper()
	require.Len(t, sum.replicas, 3)
	require.Positive(t, sum.totalRuns())
	for _, r := range sum.replicas {
		assert.InDelta(t, 1.0/3, sum.share(r), 0.1/3, "share of replica %s = %d of %d Run calls", r.addr, r.runs, sum.totalRuns())
	}
}

func strategyOf(sum *summary, service string) strategyUse {
	for _, u := range sum.strategies {
		if u.service == service {
			return u
		}
	}
	return strategyUse{}
}

func TestQuickstart(t *testing.T) {
	sum, out, err := quickstart(t, []string{"-players", "200", "-progress", "50ms"}, nil)
	require.NoError(t, err, "output:\n%s", out)
	assert.Len(t, sum.latencies, 200, "players assigned")
	assert.Positive(t, sum.director.Released, "tickets released after failed allocations")
	checkShares(t, sum)
	assert.Equal(t, "headless", strategyOf(sum, "core → mmf").strategy)
	for _, svc := range []string{"frontend", "backend", "query"} {
		assert.Equal(t, "static", strategyOf(sum, svc).strategy, "strategy of %s", svc)
	}
	for _, want := range []string{
		"match function replicas [127.0.0.1:", "127.0.0.2:", "127.0.0.3:",
		"all 3 replicas answer through the core's connection",
		"tickets:    200 players, 200 assigned",
		"latency:    p50 ",
		"core → mmf  headless",
		"why: mmf.quickstart.test lists the 3 replicas",
	} {
		assert.Contains(t, out, want)
	}
}

// TestQuickstartFallback makes 127.0.0.2 unbindable, as on macOS.
func TestQuickstartFallback(t *testing.T) {
	noAlias := func(network, addr string) (net.Listener, error) {
		if strings.HasPrefix(addr, "127.0.0.2:") || strings.HasPrefix(addr, "127.0.0.3:") {
			return nil, &net.OpError{Op: "listen", Net: network, Err: os.NewSyscallError("bind", syscall.EADDRNOTAVAIL)}
		}
		return net.Listen(network, addr)
	}
	sum, out, err := quickstart(t, []string{"-players", "100"}, func(c *config) { c.listen = noAlias })
	require.NoError(t, err, "output:\n%s", out)
	assert.Len(t, sum.latencies, 100, "players assigned")
	checkShares(t, sum)
	for _, r := range sum.replicas {
		assert.True(t, strings.HasPrefix(r.addr, "127.0.0.1:"), "replica %s is not on 127.0.0.1", r.addr)
	}
	assert.Equal(t, "static", strategyOf(sum, "core → mmf").strategy)
	assert.Contains(t, out, "fallback: cannot listen on 127.0.0.2")
}

// TestQuickstartExternal points the quickstart at a separately started core,
// standing in for a real Open-Match that dials the replicas itself.
func TestQuickstartExternal(t *testing.T) {
	core := omtest.NewServer(t)
	args := []string{"-players", "60", "-frontend", core.Addr(), "-backend", core.Addr(), "-query", core.Addr(), "-mmf-host", "127.0.0.1"}
	sum, out, err := quickstart(t, args, nil)
	require.NoError(t, err, "output:\n%s", out)
	assert.Len(t, sum.latencies, 60, "players assigned")
	assert.Positive(t, sum.totalRuns())
	assert.Equal(t, "-", strategyOf(sum, "core → mmf").strategy)
	assert.NotEmpty(t, strategyOf(sum, "frontend").strategy, "frontend strategy chosen by Auto")
	assert.Contains(t, out, "Open-Match at frontend "+core.Addr())
	assert.NotContains(t, out, "embedded")
}

func TestRunBadInput(t *testing.T) {
	closed := clitest.ClosedAddr(t)
	clitest.RunCases(t, run, []clitest.Case{
		{Name: "negative players", Args: []string{"-players", "-1"}, Code: 2, Stderr: "quickstart: -players must be positive, got -1"},
		{Name: "team size 0", Args: []string{"-team-size", "0"}, Code: 2, Stderr: "-team-size must be positive"},
		{Name: "negative rate", Args: []string{"-rate", "-1"}, Code: 2, Stderr: "-rate must not be negative"},
		{Name: "only frontend", Args: []string{"-frontend", "127.0.0.1:50504"}, Code: 2, Stderr: "set all of -frontend, -backend and -query"},
		{
			Name: "malformed backend", Code: 2, Stderr: "-backend: invalid address",
			Args: []string{"-frontend", "127.0.0.1:50504", "-backend", "127.0.0.1", "-query", "127.0.0.1:50503"},
		},
		{Name: "mmf port too high", Args: []string{"-mmf-port", "70000"}, Code: 2, Stderr: "-mmf-port must be in [0, 65535]"},
		{Name: "bad mmf host", Args: []string{"-mmf-host", "bad host"}, Code: 2, Stderr: "-mmf-host: invalid address"},
		{Name: "malformed metrics address", Args: []string{"-metrics-addr", "nowhere"}, Code: 2, Stderr: "-metrics-addr: invalid address"},
		{Name: "negative hold", Args: []string{"-hold", "-1s"}, Code: 2, Stderr: "-hold must not be negative"},
		{Name: "extra argument", Args: []string{"now"}, Code: 2, Stderr: `unexpected arguments ["now"]`},
		{
			Name: "unreachable Open-Match", Code: 1, Stderr: "quickstart: frontend at " + closed + " unreachable: ",
			Args: []string{"-frontend", closed, "-backend", closed, "-query", closed, "-players", "5", "-timeout", "500ms"},
		},
	})
}
