package omclient_test

import (
	"sync"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// flakyBackend streams FetchMatches results from a script: each call takes
// the next entry, sends its matches and then ends with its error.
type flakyBackend struct {
	pb.UnimplementedBackendServiceServer
	mu     sync.Mutex
	script []fetchStep
	calls  int
}

type fetchStep struct {
	matches []string
	err     error
}

func (b *flakyBackend) FetchMatches(_ *pb.FetchMatchesRequest, stream pb.BackendService_FetchMatchesServer) error {
	b.mu.Lock()
	step := b.script[b.calls]
	b.calls++
	b.mu.Unlock()
	for _, id := range step.matches {
		if err := stream.Send(&pb.FetchMatchesResponse{Match: &pb.Match{MatchId: id}}); err != nil {
			return err
		}
	}
	return step.err
}

func (b *flakyBackend) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls
}

func TestFetchMatches(t *testing.T) {
	unavailable := status.Error(codes.Unavailable, "backend restarting")
	tests := []struct {
		name      string
		script    []fetchStep
		wantIDs   []string
		wantCode  codes.Code
		wantCalls int
	}{
		{
			name:      "retried before the first match",
			script:    []fetchStep{{err: unavailable}, {matches: []string{"m1", "m2"}}},
			wantIDs:   []string{"m1", "m2"},
			wantCode:  codes.OK,
			wantCalls: 2,
		},
		{
			name:      "never re-run after a match arrived",
			script:    []fetchStep{{matches: []string{"m1"}, err: unavailable}, {matches: []string{"m9"}}},
			wantIDs:   []string{"m1"},
			wantCode:  codes.Unavailable,
			wantCalls: 1,
		},
		{
			name:      "match function failure is not retried",
			script:    []fetchStep{{err: status.Error(codes.Unknown, "error(s) in FetchMatches call. syncErr=[], mmfErr=[boom]")}},
			wantCode:  codes.Unknown,
			wantCalls: 1,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			be := &flakyBackend{script: tc.script}
			srv := startServer(t, func(gs *grpc.Server) { pb.RegisterBackendServiceServer(gs, be) })
			b := omclient.NewBackend(dial(t, srv.addr))
			got, err := b.FetchMatches(ctx, &pb.FunctionConfig{Host: "mmf", Port: 50502}, &pb.MatchProfile{Name: "p"})
			if status.Code(err) != tc.wantCode {
				t.Fatalf("FetchMatches() error = %v, want code %v", err, tc.wantCode)
			}
			var ids []string
			for _, m := range got {
				ids = append(ids, m.GetMatchId())
			}
			if len(ids) != len(tc.wantIDs) || (len(ids) > 0 && ids[0] != tc.wantIDs[0]) {
				t.Errorf("FetchMatches() matches = %v, want %v", ids, tc.wantIDs)
			}
			if n := be.count(); n != tc.wantCalls {
				t.Errorf("server saw %d FetchMatches calls, want %d", n, tc.wantCalls)
			}
		})
	}
}
