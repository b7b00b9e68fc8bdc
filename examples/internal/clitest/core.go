package clitest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/examples/internal/director"
	"github.com/meshmatch/meshmatch/examples/internal/game"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// NewCore starts an in-memory core whose match function is rules, run in
// process and reading tickets through the core's query service.
func NewCore(t *testing.T, rules game.Rules, opts ...omtest.Option) *omtest.Server {
	var core *omtest.Server
	mmf := omtest.WithMatchFunction(func(ctx context.Context, p *pb.MatchProfile, _ map[string][]*pb.Ticket) ([]*pb.Match, error) {
		pools, err := omclient.NewQuery(core.Conn()).QueryPools(ctx, p.GetPools())
		if err != nil {
			return nil, err
		}
		return rules.MakeMatches(p, pools, time.Now())
	})
	core = omtest.NewServer(t, append([]omtest.Option{mmf}, opts...)...)
	return core
}

// StartDirector runs a director over every game profile against core, round
// after round, until the test ends.
func StartDirector(t *testing.T, core *omtest.Server) {
	ctx, cancel := context.WithCancel(context.Background())
	d := &director.Director{
		Backend:   omclient.NewBackend(core.Conn()),
		Function:  &pb.FunctionConfig{Host: "in-process", Port: 1},
		Profiles:  game.Profiles(),
		Allocator: &director.FakeAllocator{},
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := d.Run(ctx); err != nil {
			t.Errorf("director: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
}
