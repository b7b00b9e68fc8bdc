package defaulteval

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

func match(t *testing.T, id string, score *float64, backfill string, tickets ...string) *pb.Match {
	t.Helper()
	m := &pb.Match{MatchId: id}
	for _, tid := range tickets {
		m.Tickets = append(m.Tickets, &pb.Ticket{Id: tid})
	}
	if backfill != "" {
		m.Backfill = &pb.Backfill{Id: backfill}
	}
	if score != nil {
		a, err := anypb.New(&pb.DefaultEvaluationCriteria{Score: *score})
		require.NoError(t, err)
		m.Extensions = map[string]*anypb.Any{InputKey: a}
	}
	return m
}

func f(v float64) *float64 { return &v }

func TestEvaluate(t *testing.T) {
	wrongType, err := anypb.New(wrapperspb.String("not a criteria"))
	require.NoError(t, err)
	undecodable := &pb.Match{MatchId: "bad", Tickets: []*pb.Ticket{{Id: "z"}},
		Extensions: map[string]*anypb.Any{InputKey: wrongType}}
	nilInput := &pb.Match{MatchId: "nil", Extensions: map[string]*anypb.Any{InputKey: nil}}

	tests := []struct {
		name    string
		matches func(t *testing.T) []*pb.Match
		want    []string
	}{
		{
			name:    "empty input",
			matches: func(*testing.T) []*pb.Match { return nil },
			want:    nil,
		},
		{
			name: "higher score wins a shared ticket",
			matches: func(t *testing.T) []*pb.Match {
				return []*pb.Match{match(t, "low", f(1), "", "a", "b"), match(t, "high", f(2), "", "b", "c")}
			},
			want: []string{"high"},
		},
		{
			name: "disjoint matches are all accepted best first",
			matches: func(t *testing.T) []*pb.Match {
				return []*pb.Match{match(t, "m1", f(1), "", "a"), match(t, "m2", f(3), "", "b"), match(t, "m3", f(2), "", "c")}
			},
			want: []string{"m2", "m3", "m1"},
		},
		{
			name: "missing input scores minus infinity",
			matches: func(t *testing.T) []*pb.Match {
				return []*pb.Match{match(t, "none", nil, "", "a"), match(t, "neg", f(-1e300), "", "a")}
			},
			want: []string{"neg"},
		},
		{
			name: "missing input still accepted without collision",
			matches: func(t *testing.T) []*pb.Match {
				return []*pb.Match{match(t, "none", nil, "", "a")}
			},
			want: []string{"none"},
		},
		{
			name: "undecodable input drops the match",
			matches: func(t *testing.T) []*pb.Match {
				return []*pb.Match{undecodable, nilInput, match(t, "ok", f(0), "", "z")}
			},
			want: []string{"ok"},
		},
		{
			name: "shared backfill id collides",
			matches: func(t *testing.T) []*pb.Match {
				return []*pb.Match{match(t, "b1", f(1), "bf", "a"), match(t, "b2", f(2), "bf", "b")}
			},
			want: []string{"b2"},
		},
		{
			name: "empty backfill ids never collide",
			matches: func(t *testing.T) []*pb.Match {
				m1, m2 := match(t, "n1", f(1), "", "a"), match(t, "n2", f(2), "", "b")
				m1.Backfill, m2.Backfill = &pb.Backfill{}, &pb.Backfill{}
				return []*pb.Match{m1, m2}
			},
			want: []string{"n2", "n1"},
		},
		{
			name: "matches without tickets pass",
			matches: func(t *testing.T) []*pb.Match {
				return []*pb.Match{match(t, "e1", f(1), ""), match(t, "e2", f(1), "")}
			},
			want: []string{"e1", "e2"},
		},
		{
			name: "infinite scores order correctly",
			matches: func(t *testing.T) []*pb.Match {
				return []*pb.Match{match(t, "lo", f(math.Inf(-1)), "", "a"), match(t, "hi", f(math.Inf(1)), "", "a")}
			},
			want: []string{"hi"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Evaluate(tc.matches(t))
			assert.Equal(t, tc.want, got, "Evaluate() = %v, want %v", got, tc.want)
		})
	}
}
