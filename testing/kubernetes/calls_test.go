//go:build kubernetes

package kubernetes

import (
	"context"
	"testing"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// waitNotServed waits until window consecutive calls succeed and none is
// served by gone.
func waitNotServed(ctx context.Context, conn grpc.ClientConnInterface, gone *balancertest.Backend, window int) error {
	return calltest.WaitNotServed(ctx, conn, gone.Name, window, calltest.MaxWaitCalls)
}

// spread makes n calls that must all succeed and returns the calls each
// backend served.
func spread(t testing.TB, ctx context.Context, conn grpc.ClientConnInterface, bs []*balancertest.Backend, n int) []int64 {
	t.Helper()
	before := calltest.Counts(bs)
	for i := range n {
		if _, err := calltest.GetTicket(ctx, conn); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	return calltest.Deltas(bs, before)
}
