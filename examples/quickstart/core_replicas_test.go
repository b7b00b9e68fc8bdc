package main

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/examples/internal/clitest"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// checkCoreSpread asserts the run's summary has a table of n replicas for
// each of the core's services and that the players' and the director's
// calls spread within the SDK's goal (max/min ≤ 1.05).
func checkCoreSpread(t *testing.T, sum *summary, n int) {
	t.Helper()
	require.Len(t, sum.core, 3, "a table per core service")
	for i, svc := range []omtest.Service{omtest.ServiceFrontend, omtest.ServiceBackend, omtest.ServiceQuery} {
		table := sum.core[i]
		assert.Equal(t, svc, table.service)
		require.Len(t, table.rows, n, "%s replicas", svc)
		if svc == omtest.ServiceQuery {
			continue
		}
		assert.LessOrEqual(t, spread(table.counts()), 1.05, "spread of %s calls %v", svc, table.counts())
	}
	assert.GreaterOrEqual(t, sum.core[0].total(), int64(2*sum.players), "every player created a ticket and watched it")
}

func TestQuickstartCoreReplicas(t *testing.T) {
	sum, out, err := quickstart(t, []string{"-players", "200", "-core-replicas", "3"}, nil)
	require.NoError(t, err, "output:\n%s", out)
	assert.Len(t, sum.latencies, 200, "players assigned")
	checkShares(t, sum)
	checkCoreSpread(t, sum, 3)
	for _, svc := range []string{"frontend", "backend", "query"} {
		assert.Equal(t, "headless", strategyOf(sum, svc).strategy, "strategy of %s", svc)
		assert.Contains(t, strategyOf(sum, svc).why, "om-"+svc+".quickstart.test lists the core's 3 "+svc+" replicas")
	}
	for i, row := range sum.core[0].rows {
		assert.True(t, strings.HasPrefix(row.addr, fmt.Sprintf("127.0.0.%d:", i+1)), "frontend replica %d at %s", i, row.addr)
	}
	for _, want := range []string{
		"embedded Open-Match core, 3 replicas of each service over one state",
		"all 3 replicas of the core's frontend, backend and query answer through the run's connections",
		"core frontend calls per replica, from the players (",
		"core backend calls per replica, from the director (",
		"spread max/min ",
	} {
		assert.Contains(t, out, want)
	}
}

// TestQuickstartCoreReplicasFallback makes 127.0.0.2 unbindable for the
// core, as on macOS: the replicas move to ports of 127.0.0.1 and the run's
// clients balance over them with the static strategy.
func TestQuickstartCoreReplicasFallback(t *testing.T) {
	noAlias := func(cfg omtest.Config) (*omtest.Server, error) {
		if cfg.Replicas != nil && len(cfg.Replicas.FrontendAddrs) == 0 {
			return nil, fmt.Errorf("omtest: listen on 127.0.0.2:0: %w", &os.SyscallError{Syscall: "bind", Err: syscall.EADDRNOTAVAIL})
		}
		return omtest.Start(cfg)
	}
	sum, out, err := quickstart(t, []string{"-players", "100", "-core-replicas", "2"}, func(c *config) { c.startCore = noAlias })
	require.NoError(t, err, "output:\n%s", out)
	assert.Len(t, sum.latencies, 100, "players assigned")
	checkCoreSpread(t, sum, 2)
	for _, table := range sum.core {
		for _, row := range table.rows {
			assert.True(t, strings.HasPrefix(row.addr, "127.0.0.1:"), "%s replica at %s", table.service, row.addr)
		}
	}
	for _, svc := range []string{"frontend", "backend", "query"} {
		assert.Equal(t, "static", strategyOf(sum, svc).strategy, "strategy of %s", svc)
	}
	assert.Contains(t, out, "fallback: omtest: listen on 127.0.0.2:0: bind: cannot assign requested address, so the core's replicas use 2 ports on 127.0.0.1")
}

// A core that cannot start for another reason fails the run with its error.
func TestQuickstartCoreStartError(t *testing.T) {
	boom := errors.New("omtest: listen on 127.0.0.1:50504: address already in use")
	_, out, err := quickstart(t, []string{"-players", "5", "-core-replicas", "3"}, func(c *config) {
		c.startCore = func(omtest.Config) (*omtest.Server, error) { return nil, boom }
	})
	require.ErrorIs(t, err, boom, "output:\n%s", out)
}

func TestRunCoreReplicasBadInput(t *testing.T) {
	clitest.RunCases(t, run, []clitest.Case{
		{Name: "zero core replicas", Args: []string{"-core-replicas", "0"}, Code: 2, Stderr: "quickstart: -core-replicas must be positive, got 0"},
		{Name: "negative core replicas", Args: []string{"-core-replicas", "-2"}, Code: 2, Stderr: "quickstart: -core-replicas must be positive, got -2"},
		{
			Name: "core replicas with a real Open-Match", Code: 2, Stderr: "-core-replicas is for the embedded core",
			Args: []string{"-core-replicas", "3", "-frontend", "127.0.0.1:50504", "-backend", "127.0.0.1:50505", "-query", "127.0.0.1:50503"},
		},
	})
}
