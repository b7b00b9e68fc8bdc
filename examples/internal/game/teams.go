package game

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Match extension keys.
const (
	// EvaluationInput holds the DefaultEvaluationCriteria that Open-Match's
	// default evaluator ranks proposals by.
	EvaluationInput = "evaluation_input"
	// TeamsExtension holds a google.protobuf.Struct mapping each team name to
	// the list of its ticket ids.
	TeamsExtension = "teams"
)

// Team names.
const (
	Red  = "red"
	Blue = "blue"
)

// Scoring weights: a proposal's score is WaitWeight per second of mean wait,
// minus its skill spread, minus the skill gap between its teams, minus
// MissingPenalty per empty slot.
const (
	WaitWeight     = 10.0
	MissingPenalty = 25.0
)

// Rules configures the team match function.
type Rules struct {
	// TeamSize is the number of players per team; a full match has two teams.
	TeamSize int
	// MaxWait is how long a player waits for a full match. When a player left
	// over in a pool has waited this long, the pool's leftovers become one
	// short-handed match (the game server fills the empty slots with bots).
	// Zero means never: leftovers wait for more players.
	MaxWait time.Duration
	// Function is written into each proposal's match_function.
	Function string
}

// MakeMatches is the team match function: for every pool of profile it sorts
// the players by skill and cuts them into matches of 2×TeamSize neighbours,
// so each match has a tight skill spread, then splits each match into two
// balanced teams. Leftovers wait, unless one of them has waited MaxWait.
// Every proposal carries its teams and a score for the default evaluator.
// now is the time waits are measured against.
func (r Rules) MakeMatches(profile *pb.MatchProfile, pools map[string][]*pb.Ticket, now time.Time) ([]*pb.Match, error) {
	if r.TeamSize < 1 {
		return nil, fmt.Errorf("game: team size must be at least 1, got %d", r.TeamSize)
	}
	size := 2 * r.TeamSize
	var out []*pb.Match
	for _, name := range slices.Sorted(maps.Keys(pools)) {
		ts := slices.SortedFunc(slices.Values(pools[name]), bySkill)
		i := 0
		for ; i+size <= len(ts); i += size {
			out = append(out, r.proposal(profile, name, len(out), ts[i:i+size], now))
		}
		if left := ts[i:]; len(left) > 0 && r.MaxWait > 0 && longestWait(left, now) >= r.MaxWait {
			out = append(out, r.proposal(profile, name, len(out), left, now))
		}
	}
	return out, nil
}

func bySkill(a, b *pb.Ticket) int {
	return cmp.Or(cmp.Compare(Skill(a), Skill(b)), cmp.Compare(a.GetId(), b.GetId()))
}

// proposal builds a scored match of ts, which are sorted by skill.
func (r Rules) proposal(profile *pb.MatchProfile, pool string, n int, ts []*pb.Ticket, now time.Time) *pb.Match {
	teams := SplitTeams(ts)
	score := WaitWeight*meanWait(ts, now).Seconds() - spread(ts) - gap(teams) -
		MissingPenalty*float64(2*r.TeamSize-len(ts))
	eval, _ := anypb.New(&pb.DefaultEvaluationCriteria{Score: score})
	tv, _ := anypb.New(teamsStruct(teams))
	return &pb.Match{
		MatchId:       fmt.Sprintf("%s:%s:%d:%s", profile.GetName(), pool, n, ts[0].GetId()),
		MatchProfile:  profile.GetName(),
		MatchFunction: r.Function,
		Tickets:       ts,
		Extensions:    map[string]*anypb.Any{EvaluationInput: eval, TeamsExtension: tv},
	}
}

// SplitTeams splits players sorted by skill into two teams by a snake draft
// from the strongest down (red, blue, blue, red, red, blue, …), which keeps
// the teams' total skill close.
func SplitTeams(ts []*pb.Ticket) map[string][]*pb.Ticket {
	teams := map[string][]*pb.Ticket{Red: nil, Blue: nil}
	for i := range ts {
		t := ts[len(ts)-1-i]
		if i%4 == 0 || i%4 == 3 {
			teams[Red] = append(teams[Red], t)
		} else {
			teams[Blue] = append(teams[Blue], t)
		}
	}
	return teams
}

func teamsStruct(teams map[string][]*pb.Ticket) *structpb.Struct {
	s := &structpb.Struct{Fields: map[string]*structpb.Value{}}
	for name, ts := range teams {
		ids := make([]*structpb.Value, len(ts))
		for i, t := range ts {
			ids[i] = structpb.NewStringValue(t.GetId())
		}
		s.Fields[name] = structpb.NewListValue(&structpb.ListValue{Values: ids})
	}
	return s
}

// Teams returns the ticket ids of each team of a match made by MakeMatches.
func Teams(m *pb.Match) (map[string][]string, error) {
	a, ok := m.GetExtensions()[TeamsExtension]
	if !ok {
		return nil, errors.New("game: match has no teams extension")
	}
	var s structpb.Struct
	if err := a.UnmarshalTo(&s); err != nil {
		return nil, fmt.Errorf("game: teams extension: %w", err)
	}
	out := make(map[string][]string, len(s.GetFields()))
	for name, v := range s.GetFields() {
		for _, id := range v.GetListValue().GetValues() {
			out[name] = append(out[name], id.GetStringValue())
		}
	}
	return out, nil
}

// Score returns the default-evaluator score of a match, and false when it
// has none.
func Score(m *pb.Match) (float64, bool) {
	var c pb.DefaultEvaluationCriteria
	a, ok := m.GetExtensions()[EvaluationInput]
	if !ok || a.UnmarshalTo(&c) != nil {
		return 0, false
	}
	return c.GetScore(), true
}

// Spread returns the difference between the highest and the lowest skill of
// a match's players (0 for fewer than two).
func Spread(m *pb.Match) float64 { return spread(m.GetTickets()) }

func spread(ts []*pb.Ticket) float64 {
	if len(ts) < 2 {
		return 0
	}
	lo, hi := Skill(ts[0]), Skill(ts[0])
	for _, t := range ts[1:] {
		lo, hi = min(lo, Skill(t)), max(hi, Skill(t))
	}
	return hi - lo
}

// gap is the difference of the teams' mean skills (0 when a team is empty).
func gap(teams map[string][]*pb.Ticket) float64 {
	red, blue := teams[Red], teams[Blue]
	if len(red) == 0 || len(blue) == 0 {
		return 0
	}
	d := meanSkill(red) - meanSkill(blue)
	return max(d, -d)
}

func meanSkill(ts []*pb.Ticket) float64 {
	var sum float64
	for _, t := range ts {
		sum += Skill(t)
	}
	return sum / float64(len(ts))
}

func wait(t *pb.Ticket, now time.Time) time.Duration {
	if t.GetCreateTime() == nil {
		return 0
	}
	return max(now.Sub(t.GetCreateTime().AsTime()), 0)
}

func meanWait(ts []*pb.Ticket, now time.Time) time.Duration {
	var sum time.Duration
	for _, t := range ts {
		sum += wait(t, now)
	}
	return sum / time.Duration(len(ts))
}

func longestWait(ts []*pb.Ticket, now time.Time) time.Duration {
	var longest time.Duration
	for _, t := range ts {
		longest = max(longest, wait(t, now))
	}
	return longest
}

// MatchFunc returns the rules as the matchmaking logic of omclient's match
// function server, which has already queried the profile's pools.
func (r Rules) MatchFunc() omclient.MatchFunc {
	return func(_ context.Context, profile *pb.MatchProfile, pools map[string][]*pb.Ticket) ([]*pb.Match, error) {
		return r.MakeMatches(profile, pools, time.Now())
	}
}
