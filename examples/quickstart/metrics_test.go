package main

import (
	"context"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/examples/internal/clitest"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
)

// TestQuickstartMetricsAddr runs the quickstart with -metrics-addr and
// -hold, scrapes /metrics over HTTP while it holds, and checks that the
// scraped numbers are the ones the summary printed: each replica's Run
// calls (grpc-go's server metric, labelled by replica), the core's Run
// calls to the replicas (grpc-go's client metric), and the strategy
// decision and strategy in use of the core's connection (meshmatch's).
func TestQuickstartMetricsAddr(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := parse([]string{"-players", "100", "-metrics-addr", "127.0.0.1:0", "-hold", "1m"}, io.Discard)
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	var out clitest.Output
	done := make(chan *summary, 1)
	go func() {
		sum, err := c.run(runCtx, &out)
		assert.NoError(t, err)
		done <- sum
	}()
	require.NoError(t, out.WaitFor(ctx, "holding for 1m0s"))
	m := regexp.MustCompile(`metrics on http://(\S+)/metrics`).FindStringSubmatch(out.String())
	require.Len(t, m, 2, "metrics address in output:\n%s", out.String())
	fams, err := metrics.Scrape(ctx, m[1])
	require.NoError(t, err)
	stop()
	sum := <-done

	run := []string{"grpc_method", "openmatch.MatchFunction/Run"}
	for _, r := range sum.replicas {
		got := metrics.Value(fams, "grpc_server_call_started_total", append([]string{"replica", r.addr}, run...)...)
		assert.Equal(t, float64(r.runs), got, "Run calls of replica %s: scraped %v, printed %d", r.addr, got, r.runs)
	}
	assert.Positive(t, sum.totalRuns())
	assert.Equal(t, float64(sum.totalRuns()), metrics.Value(fams, "grpc_client_attempt_started_total", run...), "Run calls the core made")
	assert.Equal(t, 1.0, metrics.Value(fams, "meshmatch_strategy_decisions_total", "meshmatch_strategy", "headless", "meshmatch_decision_kind", "configured"), "decision of the core's connection")
	assert.Equal(t, 1.0, metrics.Value(fams, "meshmatch_strategy_in_use", "meshmatch_strategy", "headless"), "strategy in use of the core's connection")
	assert.Contains(t, out.String(), "core → mmf  headless  configured: ")
}
