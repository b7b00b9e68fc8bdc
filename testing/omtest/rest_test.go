package omtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// restMMF serves body at /v1/matchfunction:run on loopback with a real
// net/http server and records the request it got.
type restMMF struct {
	status      int
	body        string
	contentType string
	path        string
	request     map[string]any
}

func (m *restMMF) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.contentType, m.path = r.Header.Get("Content-Type"), r.Method+" "+r.URL.Path
	raw, _ := io.ReadAll(r.Body)
	_ = json.Unmarshal(raw, &m.request)
	w.WriteHeader(m.status)
	_, _ = io.WriteString(w, m.body)
}

func startREST(t *testing.T, m *restMMF) *pb.FunctionConfig {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: m}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(lis) }()
	t.Cleanup(func() { _ = srv.Close(); <-done })
	host, port, err := net.SplitHostPort(lis.Addr().String())
	require.NoError(t, err)
	p, err := strconv.Atoi(port)
	require.NoError(t, err)
	return &pb.FunctionConfig{Host: host, Port: int32(p), Type: pb.FunctionConfig_REST}
}

// Item 9: REST match functions are called like Open-Match calls them.
func TestFetchMatchesRESTMatchFunction(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantIDs   []string
		wantInErr string
	}{
		{name: "stream of results", status: http.StatusOK,
			body:    `{"result":{"proposal":{"match_id":"r1","tickets":[{"id":"t1"}]}}}` + "\n" + `{"result":{"proposal":{"match_id":"r2"}}}` + "\n",
			wantIDs: []string{"r1", "r2"}},
		{name: "error object after a result", status: http.StatusOK,
			body:      `{"result":{"proposal":{"match_id":"r1"}}}` + "\n" + `{"error":{"code":2,"message":"mmf broke"}}` + "\n",
			wantIDs:   []string{"r1"},
			wantInErr: `mmfErr=[failed to execute matchfunction.Run: {"code":2,"message":"mmf broke"}]`},
		{name: "not json", status: http.StatusOK, body: "oops",
			wantInErr: "mmfErr=[failed to read response from HTTP JSON stream: "},
		{name: "http error status", status: http.StatusNotFound, body: `{"code":5,"message":"Not Found"}`,
			wantInErr: `mmfErr=[failed to execute matchfunction.Run: HTTP status 404: {"code":5,"message":"Not Found"}]`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			m := &restMMF{status: tc.status, body: tc.body}
			cfg := startREST(t, m)
			s, clock := newCore(t)
			stop := advanceWindow(ctx, clock)
			stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{Config: cfg, Profile: &pb.MatchProfile{Name: "rest-profile"}})
			require.NoError(t, err)
			resps, err := recvAll(stream)
			stop()
			var ids []string
			for _, r := range resps {
				ids = append(ids, r.GetMatch().GetMatchId())
			}
			assert.Equal(t, tc.wantIDs, ids)
			if tc.wantInErr == "" {
				require.NoError(t, err)
			} else {
				assertStatus(t, err, codes.Unknown, "")
				assert.Contains(t, err.Error(), tc.wantInErr)
			}
			assert.Equal(t, "POST /v1/matchfunction:run", m.path)
			assert.Equal(t, "application/json", m.contentType)
			assert.Equal(t, map[string]any{"profile": map[string]any{"name": "rest-profile"}}, m.request,
				"the RunRequest as JSON with proto field names")
		})
	}
}

func TestFetchMatchesRESTUnreachable(t *testing.T) {
	ctx := testCtx(t)
	s, _ := newCore(t)
	cfg := &pb.FunctionConfig{Host: "127.0.0.1", Port: int32(closedPort(t)), Type: pb.FunctionConfig_REST}
	_, err := fetchReqMatches(ctx, s, cfg)
	assertStatus(t, err, codes.Unknown, "")
	assert.Contains(t, err.Error(), "mmfErr=[failed to get response from mmf run for profile p: ")
}

func fetchReqMatches(ctx context.Context, s *omtest.Server, cfg *pb.FunctionConfig) ([]*pb.FetchMatchesResponse, error) {
	if clock, ok := fakeClocks.Load(s); ok {
		defer advanceWindow(ctx, clock.(*omtest.FakeClock))()
	}
	stream, err := s.Backend().FetchMatches(ctx, &pb.FetchMatchesRequest{Config: cfg, Profile: &pb.MatchProfile{Name: "p"}})
	if err != nil {
		return nil, err
	}
	return recvAll(stream)
}
