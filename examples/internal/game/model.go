package game

import (
	"fmt"
	"math/rand/v2"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Search-field keys of a player's ticket.
const (
	// RegionArg is the string_args key holding the player's region.
	RegionArg = "region"
	// SkillArg is the double_args key holding the player's skill rating.
	SkillArg = "skill"
)

// PoolName is the name of the one pool of every profile.
const PoolName = "players"

// Regions players come from.
var Regions = []string{"eu", "us", "asia"}

// Skill ratings run from MinSkill (inclusive) to MaxSkill (exclusive) and
// profiles cut them into SkillBuckets buckets of equal width.
const (
	MinSkill     = 0.0
	MaxSkill     = 100.0
	SkillBuckets = 4
)

// NewTicket returns the ticket of a player with a random region and skill.
func NewTicket(rng *rand.Rand) *pb.Ticket {
	return &pb.Ticket{SearchFields: &pb.SearchFields{
		StringArgs: map[string]string{RegionArg: Regions[rng.IntN(len(Regions))]},
		DoubleArgs: map[string]float64{SkillArg: MinSkill + rng.Float64()*(MaxSkill-MinSkill)},
	}}
}

// Region returns the region of a ticket.
func Region(t *pb.Ticket) string { return t.GetSearchFields().GetStringArgs()[RegionArg] }

// Skill returns the skill rating of a ticket.
func Skill(t *pb.Ticket) float64 { return t.GetSearchFields().GetDoubleArgs()[SkillArg] }

// Profiles returns one profile per region and skill bucket. Each has a single
// pool, PoolName, selecting the players of that region whose skill is in the
// bucket: [lo, hi) for every bucket but the last, which includes MaxSkill.
func Profiles() []*pb.MatchProfile {
	width := (MaxSkill - MinSkill) / SkillBuckets
	var out []*pb.MatchProfile
	for _, region := range Regions {
		for b := range SkillBuckets {
			lo, hi := MinSkill+float64(b)*width, MinSkill+float64(b+1)*width
			exclude := pb.DoubleRangeFilter_MAX
			if b == SkillBuckets-1 {
				exclude = pb.DoubleRangeFilter_NONE
			}
			out = append(out, &pb.MatchProfile{
				Name: fmt.Sprintf("%s/skill-%02.0f-%02.0f", region, lo, hi),
				Pools: []*pb.Pool{{
					Name:                PoolName,
					StringEqualsFilters: []*pb.StringEqualsFilter{{StringArg: RegionArg, Value: region}},
					DoubleRangeFilters:  []*pb.DoubleRangeFilter{{DoubleArg: SkillArg, Min: lo, Max: hi, Exclude: exclude}},
				}},
			})
		}
	}
	return out
}
