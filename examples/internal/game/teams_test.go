package game

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var now = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// player returns a ticket with id, skill and the time it has waited.
func player(id string, skill float64, waited time.Duration) *pb.Ticket {
	return &pb.Ticket{
		Id:           id,
		SearchFields: &pb.SearchFields{DoubleArgs: map[string]float64{SkillArg: skill}, StringArgs: map[string]string{RegionArg: "eu"}},
		CreateTime:   timestamppb.New(now.Add(-waited)),
	}
}

func ids(ts []*pb.Ticket) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.GetId()
	}
	return out
}

func TestMakeMatchesTeams(t *testing.T) {
	profile := &pb.MatchProfile{Name: "eu/skill-00-25"}
	for _, tc := range []struct {
		name    string
		rules   Rules
		players []*pb.Ticket
		want    [][]string            // tickets of each match, by skill
		teams   []map[string][]string // teams of each match
	}{
		{
			name:    "one 2v2 match, snake draft",
			rules:   Rules{TeamSize: 2},
			players: []*pb.Ticket{player("d", 40, 0), player("a", 10, 0), player("c", 30, 0), player("b", 20, 0)},
			want:    [][]string{{"a", "b", "c", "d"}},
			teams:   []map[string][]string{{Red: {"d", "a"}, Blue: {"c", "b"}}},
		},
		{
			name:    "neighbours by skill, leftover waits",
			rules:   Rules{TeamSize: 1, MaxWait: time.Minute},
			players: []*pb.Ticket{player("a", 1, 0), player("x", 90, 0), player("b", 2, 0), player("y", 91, 0), player("z", 99, time.Second)},
			want:    [][]string{{"a", "b"}, {"x", "y"}},
			teams:   []map[string][]string{{Red: {"b"}, Blue: {"a"}}, {Red: {"y"}, Blue: {"x"}}},
		},
		{
			name:    "leftovers that waited MaxWait play short-handed",
			rules:   Rules{TeamSize: 2, MaxWait: time.Second},
			players: []*pb.Ticket{player("a", 1, 0), player("b", 2, 2*time.Second), player("c", 3, 0)},
			want:    [][]string{{"a", "b", "c"}},
			teams:   []map[string][]string{{Red: {"c"}, Blue: {"b", "a"}}},
		},
		{
			name:    "no MaxWait: leftovers always wait",
			rules:   Rules{TeamSize: 2},
			players: []*pb.Ticket{player("a", 1, time.Hour), player("b", 2, time.Hour)},
		},
		{name: "empty pool", rules: Rules{TeamSize: 2}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.rules.MakeMatches(profile, map[string][]*pb.Ticket{PoolName: tc.players}, now)
			require.NoError(t, err)
			require.Len(t, got, len(tc.want), "MakeMatches() = %d matches, want %d", len(got), len(tc.want))
			seen := map[string]bool{}
			for i, m := range got {
				assert.Equal(t, tc.want[i], ids(m.GetTickets()), "match %d tickets", i)
				teams, err := Teams(m)
				require.NoError(t, err)
				assert.Equal(t, tc.teams[i], teams, "match %d teams", i)
				_, ok := Score(m)
				assert.True(t, ok, "match %d has no evaluation_input", i)
				assert.Equal(t, profile.GetName(), m.GetMatchProfile())
				assert.False(t, seen[m.GetMatchId()], "match id %q repeated", m.GetMatchId())
				seen[m.GetMatchId()] = true
			}
		})
	}
}

func TestMakeMatchesScores(t *testing.T) {
	score := func(rules Rules, ts ...*pb.Ticket) float64 {
		t.Helper()
		ms, err := rules.MakeMatches(&pb.MatchProfile{Name: "p"}, map[string][]*pb.Ticket{PoolName: ts}, now)
		require.NoError(t, err)
		require.Len(t, ms, 1)
		s, ok := Score(ms[0])
		require.True(t, ok)
		return s
	}
	rules := Rules{TeamSize: 2, MaxWait: time.Second}
	tight := score(rules, player("a", 10, 0), player("b", 11, 0), player("c", 12, 0), player("d", 13, 0))
	wide := score(rules, player("a", 10, 0), player("b", 15, 0), player("c", 20, 0), player("d", 25, 0))
	waited := score(rules, player("a", 10, 5*time.Second), player("b", 15, 5*time.Second), player("c", 20, 5*time.Second), player("d", 25, 5*time.Second))
	short := score(rules, player("a", 10, 5*time.Second), player("b", 15, 5*time.Second), player("c", 20, 5*time.Second))
	assert.Greater(t, tight, wide, "tight spread scores %v, wide %v", tight, wide)
	assert.Greater(t, waited, wide, "long wait scores %v, no wait %v", waited, wide)
	assert.Greater(t, waited, short, "full match scores %v, short-handed %v", waited, short)
	assert.InDelta(t, -15.0, wide, 1e-9, "score(wide) = %v, want -15 (spread 15, both teams average 17.5)", wide)
}

func TestMakeMatchesBadRules(t *testing.T) {
	_, err := Rules{TeamSize: 0}.MakeMatches(&pb.MatchProfile{}, nil, now)
	assert.ErrorContains(t, err, "team size must be at least 1")
}

func TestProfiles(t *testing.T) {
	ps := Profiles()
	require.Len(t, ps, len(Regions)*SkillBuckets)
	// Every skill value of every region falls in exactly one profile.
	for _, region := range Regions {
		for _, skill := range []float64{MinSkill, 24.999, 25, 50, 75, MaxSkill} {
			var in []string
			for _, p := range ps {
				if passes(p.GetPools()[0], region, skill) {
					in = append(in, p.GetName())
				}
			}
			assert.Len(t, in, 1, "region %s skill %v is in profiles %v", region, skill, in)
		}
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.GetName()
	}
	assert.Equal(t, len(names), len(slices.Compact(slices.Sorted(slices.Values(names)))), "profile names repeat: %v", names)
	assert.Equal(t, "eu/skill-00-25", names[0])
}

// passes applies a pool's filters the way Open-Match does (only the filter
// kinds Profiles uses).
func passes(p *pb.Pool, region string, skill float64) bool {
	for _, f := range p.GetStringEqualsFilters() {
		if f.GetValue() != region {
			return false
		}
	}
	for _, f := range p.GetDoubleRangeFilters() {
		switch f.GetExclude() {
		case pb.DoubleRangeFilter_MAX:
			if skill < f.GetMin() || skill >= f.GetMax() {
				return false
			}
		case pb.DoubleRangeFilter_NONE:
			if skill < f.GetMin() || skill > f.GetMax() {
				return false
			}
		default:
			panic(fmt.Sprintf("unexpected exclude %v", f.GetExclude()))
		}
	}
	return true
}
