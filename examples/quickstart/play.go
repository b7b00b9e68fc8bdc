package main

import (
	"context"

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

// play runs the director and the players until every player is assigned
// (and the director has done minRounds) or one of them fails.
func (c config) play(ctx context.Context, svc *services, rs *replicas, counters *progress.Counters) (outcome, error) {
	dctx, stopDirector := context.WithCancel(ctx)
	defer stopDirector()
	pctx, stopPlayers := context.WithCancel(ctx)
	defer stopPlayers()

	enough := make(chan struct{})
	d := &director.Director{
		Backend:     omclient.NewBackend(svc.be.Conn),
		Function:    &pb.FunctionConfig{Host: c.mmfHost, Port: int32(rs.port), Type: pb.FunctionConfig_GRPC},
		Profiles:    game.Profiles(),
		Allocator:   &director.FakeAllocator{FailEvery: c.failEvery},
		CallTimeout: c.timeout,
		Counters:    counters,
		OnRound: func(n int, _ director.Stats) {
			if n == minRounds {
				close(enough)
			}
		},
	}
	type directed struct {
		st  director.Stats
		err error
	}
	dch := make(chan directed, 1)
	go func() {
		st, err := d.Run(dctx)
		dch <- directed{st, err}
	}()
	type played struct {
		results []players.Result
		err     error
	}
	pch := make(chan played, 1)
	sim := &players.Sim{Frontend: omclient.NewFrontend(svc.fe.Conn), Players: c.players, Rate: c.rate, Seed: c.seed, Counters: counters}
	go func() {
		results, err := sim.Run(pctx)
		pch <- played{results, err}
	}()

	var p played
	var dr *directed
	select {
	case p = <-pch:
	case r := <-dch: // the director stopped first: it failed
		dr = &r
		stopPlayers()
		p = <-pch
	}
	if dr == nil && p.err == nil {
		select {
		case <-enough:
		case r := <-dch:
			dr = &r
		}
	}
	stopDirector()
	if dr == nil {
		r := <-dch
		dr = &r
	}
	out := outcome{results: p.results, director: dr.st}
	if dr.err != nil {
		return out, dr.err
	}
	return out, p.err
}
