package main

import (
	"context"
	"net"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/examples/internal/clitest"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

var metricsLine = regexp.MustCompile(`metrics on http://(\S+)/metrics`)

// TestMetricsAddr runs the command with -metrics-addr, makes FetchMatches
// calls that reach it, and scrapes /metrics over HTTP: the server-side Run
// calls (grpc-go), the query calls the match function made (grpc-go) and
// the query connection's strategy decision (meshmatch) all moved.
func TestMetricsAddr(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	core := omtest.NewServer(t)
	createPlayers(ctx, t, core.Frontend(), "eu", 1, 2, 3, 4)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := lis.Addr().(*net.TCPAddr).Port
	require.NoError(t, lis.Close())
	runCtx, stop := context.WithCancel(ctx)
	var stdout, stderr clitest.Output
	code := make(chan int, 1)
	go func() {
		code <- run(runCtx, []string{"-listen", "127.0.0.1:" + strconv.Itoa(port), "-query", core.Addr(), "-metrics-addr", "127.0.0.1:0"}, &stdout, &stderr)
	}()
	require.NoError(t, stdout.WaitFor(ctx, "mmf: serving on"))
	m := metricsLine.FindStringSubmatch(stdout.String())
	require.NotNil(t, m, "stdout has no metrics line: %s", stdout.String())

	be := omclient.NewBackend(core.Conn())
	for range 2 {
		_, err := be.FetchMatches(ctx, &pb.FunctionConfig{Host: "127.0.0.1", Port: int32(port)}, game.Profiles()[0])
		require.NoError(t, err)
	}
	fams, err := metrics.Scrape(ctx, m[1])
	require.NoError(t, err)
	assert.Equal(t, 2.0, metrics.Value(fams, "grpc_server_call_started_total", "grpc_method", "openmatch.MatchFunction/Run"), "Run calls served")
	assert.GreaterOrEqual(t, metrics.Value(fams, "grpc_client_attempt_started_total", "grpc_method", "openmatch.QueryService/QueryTickets"), 2.0, "QueryTickets calls made")
	assert.Equal(t, 1.0, metrics.Value(fams, "meshmatch_strategy_decisions_total", "meshmatch_strategy", "headless", "meshmatch_decision_kind", "forced"), "the query connection's decision ($MESHMATCH_STRATEGY=headless)")
	assert.Equal(t, 1.0, metrics.Value(fams, "meshmatch_strategy_in_use", "server_address", core.Addr()), "the query connection's strategy in use")
	stop()
	assert.Equal(t, 0, <-code, "stderr: %s", stderr.String())
}
