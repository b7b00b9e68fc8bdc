package omclient_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// holdingQuery fails the pool named "bad" at once and holds every other
// pool's stream until the client cancels it.
type holdingQuery struct {
	pb.UnimplementedQueryServiceServer
}

func (q *holdingQuery) QueryTickets(req *pb.QueryTicketsRequest, stream pb.QueryService_QueryTicketsServer) error {
	if req.GetPool().GetName() == "bad" {
		return status.Error(codes.InvalidArgument, "bad filter")
	}
	<-stream.Context().Done()
	return status.FromContextError(stream.Context().Err()).Err()
}

// TestQueryPoolsFirstErrorCancelsSiblings: one failing pool makes QueryPools
// return its error without waiting for the other pools, whose streams it
// cancels. The call's own context has no deadline, so only that
// cancellation can end the held streams (if they reached the server before
// it).
func TestQueryPoolsFirstErrorCancelsSiblings(t *testing.T) {
	ctx := testContext(t)
	q := &holdingQuery{}
	srv := startServer(t, func(gs *grpc.Server) { pb.RegisterQueryServiceServer(gs, q) })
	qc := omclient.NewQuery(dial(t, srv.addr))

	callCtx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := make(chan error, 1)
	go func() {
		_, err := qc.QueryPools(callCtx, []*pb.Pool{{Name: "slow-1"}, {Name: "bad"}, {Name: "slow-2"}})
		done <- err
	}()
	select {
	case err := <-done:
		require.Error(t, err, "QueryPools() with a failing pool")
		assert.Equal(t, codes.InvalidArgument, status.Code(err), "QueryPools() = %v, want the failing pool's code InvalidArgument", err)
	case <-ctx.Done():
		cancel()
		<-done
		t.Fatal("QueryPools() kept waiting for the held sibling pools after one pool failed")
	}
}
