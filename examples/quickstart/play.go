package main

import (
	"context"
	"sync/atomic"

	"github.com/meshmatch/meshmatch/examples/internal/director"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/examples/internal/players"
	"github.com/meshmatch/meshmatch/examples/internal/progress"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// minRounds is how many director rounds run at least, so that the replicas'
// shares of Run calls rest on enough calls even for a few players.
const minRounds = 10

// outcome is what a run produced.
type outcome struct {
	results  []players.Result
	director director.Stats
}

// result is what a background run returned.
type result[T any] struct {
	v   T
	err error
}

// goRun calls run(ctx) in a goroutine and delivers its result on the channel.
func goRun[T any](ctx context.Context, run func(context.Context) (T, error)) <-chan result[T] {
	ch := make(chan result[T], 1)
	go func() {
		v, err := run(ctx)
		ch <- result[T]{v: v, err: err}
	}()
	return ch
}

// play runs the director and the players until every player is assigned
// (and the director has done minRounds) or one of them fails. Once the
// players are done the director stops at the end of a round, never inside
// one: a FetchMatches canceled half-way would leave the core calling the
// match function after the summary has counted its Run calls.
func (c config) play(ctx context.Context, svc *services, rs *replicas, counters *progress.Counters) (outcome, error) {
	dctx, stopDirector := context.WithCancel(ctx)
	defer stopDirector()
	pctx, stopPlayers := context.WithCancel(ctx)
	defer stopPlayers()

	var playersDone atomic.Bool
	enough := make(chan struct{})
	dch := goRun(dctx, c.newDirector(svc, rs, counters, func(n int) {
		if n == minRounds {
			close(enough)
		}
		if n >= minRounds && playersDone.Load() {
			stopDirector()
		}
	}).Run)
	pch := goRun(pctx, c.newPlayers(svc, counters).Run)
	p, d := awaitPlayers(pch, dch, stopPlayers)
	playersDone.Store(true)
	switch {
	case d != nil:
	case p.err != nil:
		stopDirector()
	default:
		// The director stops itself after the round that sees playersDone.
		d = awaitRounds(enough, dch)
	}
	if d == nil {
		r := <-dch
		d = &r
	}
	out := outcome{results: p.v, director: d.v}
	if d.err != nil {
		return out, d.err
	}
	return out, p.err
}

// newDirector returns the director of the run; onRound is called with the
// number of each completed round.
func (c config) newDirector(svc *services, rs *replicas, counters *progress.Counters, onRound func(n int)) *director.Director {
	return &director.Director{
		Backend:     omclient.NewBackend(svc.be.Conn),
		Function:    &pb.FunctionConfig{Host: c.mmfHost, Port: int32(rs.port), Type: pb.FunctionConfig_GRPC},
		Profiles:    game.Profiles(),
		Allocator:   &director.FakeAllocator{FailEvery: c.failEvery},
		CallTimeout: c.timeout,
		Counters:    counters,
		OnRound:     func(n int, _ director.Stats) { onRound(n) },
	}
}

// newPlayers returns the simulated players of the run.
func (c config) newPlayers(svc *services, counters *progress.Counters) *players.Sim {
	return &players.Sim{Frontend: omclient.NewFrontend(svc.fe.Conn), Players: c.players, Rate: c.rate, Seed: c.seed, Counters: counters}
}

// awaitPlayers waits for the players to finish. When the director stops
// first, it has failed: the players are stopped and its result returned too.
func awaitPlayers(pch <-chan result[[]players.Result], dch <-chan result[director.Stats], stopPlayers func()) (result[[]players.Result], *result[director.Stats]) {
	select {
	case p := <-pch:
		return p, nil
	case d := <-dch:
		stopPlayers()
		return <-pch, &d
	}
}

// awaitRounds waits until the director has done minRounds, or returns its
// result if it stops before.
func awaitRounds(enough <-chan struct{}, dch <-chan result[director.Stats]) *result[director.Stats] {
	select {
	case <-enough:
		return nil
	case d := <-dch:
		return &d
	}
}
