package main

import (
	"context"
	"fmt"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/meshmatch/meshmatch/examples/internal/clitest"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// proposal returns a match of tickets (id:skill pairs) with a score.
func proposal(id string, score float64, skills map[string]float64) *pb.Match {
	in, _ := anypb.New(&pb.DefaultEvaluationCriteria{Score: score})
	m := &pb.Match{MatchId: id, Extensions: map[string]*anypb.Any{game.EvaluationInput: in}}
	for tid, s := range skills {
		m.Tickets = append(m.Tickets, &pb.Ticket{Id: tid, SearchFields: &pb.SearchFields{DoubleArgs: map[string]float64{game.SkillArg: s}}})
	}
	return m
}

func TestEvaluate(t *testing.T) {
	for _, tc := range []struct {
		name      string
		proposals []*pb.Match
		maxSpread float64
		want      []string
	}{
		{
			name: "wide spread rejected even without competition",
			proposals: []*pb.Match{
				proposal("wide", 100, map[string]float64{"a": 0, "b": 50}),
				proposal("tight", 1, map[string]float64{"c": 10, "d": 12}),
			},
			maxSpread: 20,
			want:      []string{"tight"},
		},
		{
			name: "spread at the limit accepted",
			proposals: []*pb.Match{
				proposal("edge", 1, map[string]float64{"a": 0, "b": 20}),
			},
			maxSpread: 20,
			want:      []string{"edge"},
		},
		{
			name: "default rule among the rest: higher score wins a shared ticket",
			proposals: []*pb.Match{
				proposal("low", 1, map[string]float64{"a": 10, "b": 12}),
				proposal("high", 5, map[string]float64{"a": 10, "c": 11}),
				proposal("wide", 9, map[string]float64{"a": 10, "d": 90}),
			},
			maxSpread: 20,
			want:      []string{"high"},
		},
		{name: "nothing proposed", maxSpread: 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(tc.proposals, tc.maxSpread)
			slices.Sort(got)
			assert.Equal(t, tc.want, got, "Evaluate(max spread %v)", tc.maxSpread)
		})
	}
}

// TestServeThroughCore has the in-memory core send a cycle's proposals to the
// evaluator over gRPC and return only the matches it accepted.
func TestServeThroughCore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	runCtx, stop := context.WithCancel(ctx)
	var stdout, stderr clitest.Output
	code := make(chan int, 1)
	go func() { code <- run(runCtx, []string{"-listen", "127.0.0.1:0", "-max-spread", "15"}, &stdout, &stderr) }()
	addr, err := stdout.WordAfter(ctx, "evaluator: serving on ")
	require.NoError(t, err)

	core := omtest.NewServer(t, omtest.WithEvaluatorTarget(addr), omtest.WithMatchFunction(
		func(context.Context, *pb.MatchProfile, map[string][]*pb.Ticket) ([]*pb.Match, error) {
			return []*pb.Match{
				proposal("wide", 100, map[string]float64{"a": 0, "b": 50}),
				proposal("tight", 1, map[string]float64{"c": 10, "d": 12}),
			}, nil
		}))
	matches, err := omclient.NewBackend(core.Conn()).FetchMatches(ctx, &pb.FunctionConfig{Host: "in-process", Port: 1}, &pb.MatchProfile{Name: "p"})
	require.NoError(t, err)
	var ids []string
	for _, m := range matches {
		ids = append(ids, m.GetMatchId())
	}
	assert.Equal(t, []string{"tight"}, ids, "FetchMatches through the evaluator")

	stop()
	assert.Equal(t, 0, <-code, "stderr: %s", stderr.String())
	assert.Contains(t, stdout.String(), "evaluator: stopped")
}

func TestRunBadInput(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	clitest.RunCases(t, run, []clitest.Case{
		{Name: "malformed metrics address", Args: []string{"-metrics-addr", "nowhere"}, Code: 2, Stderr: "-metrics-addr: invalid address"},
		{Name: "negative spread", Args: []string{"-max-spread", "-1"}, Code: 2, Stderr: "evaluator: -max-spread must not be negative"},
		{Name: "malformed listen", Args: []string{"-listen", "127.0.0.1:http2"}, Code: 2, Stderr: "-listen: invalid address"},
		{Name: "not a number", Args: []string{"-max-spread", "wide"}, Code: 2, Stderr: `invalid value "wide" for flag -max-spread`},
		{Name: "port in use", Args: []string{"-listen", busy.Addr().String()}, Code: 1, Stderr: fmt.Sprintf("evaluator: listen: listen tcp %s", busy.Addr())},
	})
}
