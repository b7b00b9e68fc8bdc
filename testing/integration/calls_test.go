//go:build integration

package integration

import (
	"context"
	"net"
	"testing"

	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

// spread makes n calls that must all succeed and returns the calls each
// backend served.
func spread(t testing.TB, ctx context.Context, conn grpc.ClientConnInterface, bs []*balancertest.Backend, n int) []int64 {
	t.Helper()
	before := calltest.Counts(bs)
	for i := range n {
		if _, err := calltest.GetTicket(ctx, conn); err != nil {
			t.Fatalf("call %d: GetTicket() = %v, want nil error", i, err)
		}
	}
	return calltest.Deltas(bs, before)
}

// ips returns the backends' IP addresses.
func ips(bs []*balancertest.Backend) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i], _, _ = net.SplitHostPort(b.Addr)
	}
	return out
}

// port returns the port all backends share.
func port(bs []*balancertest.Backend) string {
	_, p, _ := net.SplitHostPort(bs[0].Addr)
	return p
}
