package director

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/meshmatch/meshmatch/omclient/pb"
)

// Allocator finds a game server for a match and returns its connection
// string, as Agones' GameServerAllocation would.
type Allocator interface {
	Allocate(ctx context.Context, m *pb.Match) (string, error)
}

// ErrNoGameServer is returned by FakeAllocator when it fails an allocation.
var ErrNoGameServer = errors.New("no game server available")

// FakeAllocator hands out "gs-<n>.example:7777" addresses. When FailEvery is
// above zero, every FailEvery-th allocation fails with ErrNoGameServer, so a
// director's release path runs. It is safe for concurrent use.
type FakeAllocator struct {
	FailEvery int64
	n         atomic.Int64
}

// Allocate returns the next game server address or ErrNoGameServer.
func (a *FakeAllocator) Allocate(ctx context.Context, m *pb.Match) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	n := a.n.Add(1)
	if a.FailEvery > 0 && n%a.FailEvery == 0 {
		return "", fmt.Errorf("allocate for match %s: %w", m.GetMatchId(), ErrNoGameServer)
	}
	return fmt.Sprintf("gs-%d.example:7777", n), nil
}
