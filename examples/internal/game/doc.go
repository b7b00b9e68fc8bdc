// Package game is the matchmaking model the examples share: players with a
// region and a skill, one match profile per region and skill bucket, and the
// team match function that turns each pool of tickets into scored proposals
// for Open-Match's default evaluator.
//
// The examples' match function (examples/mmf), director, frontend, evaluator
// and quickstart all use it, so that they agree on the search fields, the
// profiles and the shape of a match.
package game
