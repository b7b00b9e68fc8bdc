// Package defaulteval holds Open-Match's default evaluator logic: score every
// proposal, keep the best ones and drop any proposal that reuses a ticket or a
// backfill already taken by a better one.
//
// It is shared by the in-memory core in testing/omtest and by the omclient
// evaluator helpers so that both resolve collisions the same way.
package defaulteval

import (
	"math"
	"sort"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// InputKey is the Match extensions key that holds the match's
// DefaultEvaluationCriteria.
const InputKey = "evaluation_input"

type scored struct {
	match *pb.Match
	score float64
}

// Evaluate returns the ids of the accepted matches, best score first.
//
// The score is DefaultEvaluationCriteria.score from extensions["evaluation_input"].
// A match without that key scores -Inf; a match whose value does not unpack as
// DefaultEvaluationCriteria is dropped. Matches are walked from the highest score
// down and one is accepted only if none of its tickets, and not its non-empty
// backfill id, belongs to a match accepted before it. Ties keep proposal order.
func Evaluate(matches []*pb.Match) []string {
	candidates := make([]scored, 0, len(matches))
	for _, m := range matches {
		s, ok := score(m)
		if !ok {
			continue
		}
		candidates = append(candidates, scored{match: m, score: s})
	}
	sort.SliceStable(candidates, func(i, j int) bool {
		return candidates[i].score > candidates[j].score
	})

	usedTickets := make(map[string]struct{})
	usedBackfills := make(map[string]struct{})
	var accepted []string
	for _, c := range candidates {
		if collides(c.match, usedTickets, usedBackfills) {
			continue
		}
		for _, t := range c.match.GetTickets() {
			usedTickets[t.GetId()] = struct{}{}
		}
		if id := c.match.GetBackfill().GetId(); id != "" {
			usedBackfills[id] = struct{}{}
		}
		accepted = append(accepted, c.match.GetMatchId())
	}
	return accepted
}

// score reads the match's evaluation input. ok is false when the input is
// present but cannot be decoded, which drops the match.
func score(m *pb.Match) (s float64, ok bool) {
	input, present := m.GetExtensions()[InputKey]
	if !present {
		return math.Inf(-1), true
	}
	if input == nil {
		return 0, false
	}
	var crit pb.DefaultEvaluationCriteria
	if err := input.UnmarshalTo(&crit); err != nil {
		return 0, false
	}
	return crit.GetScore(), true
}

func collides(m *pb.Match, tickets, backfills map[string]struct{}) bool {
	for _, t := range m.GetTickets() {
		if _, used := tickets[t.GetId()]; used {
			return true
		}
	}
	if id := m.GetBackfill().GetId(); id != "" {
		if _, used := backfills[id]; used {
			return true
		}
	}
	return false
}
