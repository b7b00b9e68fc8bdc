package main

import (
	"context"
	"io"
	"net"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/examples/internal/metrics"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// TestRunMetricsAddr: with -metrics-addr the core serves /metrics; after
// ticket calls and a FetchMatches that dials a match function on loopback,
// a scrape over HTTP shows the core's server calls and its connection to
// the match function (grpc-go's instruments), and that connection's
// strategy decision and strategy in use (meshmatch's).
func TestRunMetricsAddr(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, out, stop := startCoreOut(ctx, t, append([]string{"-metrics-addr", "127.0.0.1:0"}, loopbackFlags...)...)
	defer stop()
	m := regexp.MustCompile(`omcore: metrics on http://(\S+)/metrics`).FindStringSubmatch(out)
	require.Len(t, m, 2, "metrics address in %q", out)
	for range 3 {
		_, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
		require.NoError(t, err)
	}
	mmf := startMMF(t, s.QueryAddr())
	fc := &pb.FunctionConfig{Host: "127.0.0.1", Port: int32(mmf.Port)}
	stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{Config: fc, Profile: &pb.MatchProfile{Name: "p", Pools: []*pb.Pool{{Name: "all"}}}})
	require.NoError(t, err)
	for err == nil {
		_, err = stream.Recv()
	}
	require.ErrorIs(t, err, io.EOF)

	fams, err := metrics.Scrape(ctx, m[1])
	require.NoError(t, err)
	assert.Equal(t, 3.0, metrics.Value(fams, "grpc_server_call_started_total", "grpc_method", "openmatch.FrontendService/CreateTicket"), "CreateTicket calls served")
	assert.Equal(t, 1.0, metrics.Value(fams, "grpc_client_attempt_started_total", "grpc_method", "openmatch.MatchFunction/Run"), "Run calls the core made")
	addr := mmf.String()
	assert.Equal(t, 1.0, metrics.Value(fams, "meshmatch_strategy_decisions_total", "server_address", addr, "meshmatch_strategy", "headless", "meshmatch_decision_kind", "configured"), "decision of the core's connection to %s", addr)
	assert.Equal(t, 1.0, metrics.Value(fams, "meshmatch_strategy_in_use", "server_address", addr, "meshmatch_strategy", "headless"), "strategy in use to %s", addr)
}

// startMMF serves a match function that proposes nothing on loopback,
// reading its pools from the query service at query.
func startMMF(t *testing.T, query string) *net.TCPAddr {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	q, err := omclient.DialQuery(query, omclient.WithStrategy(balancer.Static{Addrs: []string{query}}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = q.Close() })
	srv := omclient.NewMatchFunctionServer(q, func(context.Context, *pb.MatchProfile, map[string][]*pb.Ticket) ([]*pb.Match, error) {
		return nil, nil
	})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(lis) }()
	t.Cleanup(func() {
		assert.NoError(t, srv.Shutdown(context.Background()))
		assert.NoError(t, <-done)
	})
	return lis.Addr().(*net.TCPAddr)
}
