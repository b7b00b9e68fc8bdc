package omclient_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
)

// bigReplies answers with tickets whose id is 5 MiB long, over grpc-go's
// default 4 MiB receive limit, except for ticket "quota", which gets one
// server-sent ResourceExhausted and then a normal answer.
type bigReplies struct {
	pb.UnimplementedFrontendServiceServer
	pb.UnimplementedQueryServiceServer

	mu    sync.Mutex
	calls map[string]int
}

var bigID = strings.Repeat("x", 5<<20)

func (b *bigReplies) count(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.calls[method]
}

func (b *bigReplies) add(method string) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.calls[method]++
	return b.calls[method]
}

func (b *bigReplies) GetTicket(_ context.Context, req *pb.GetTicketRequest) (*pb.Ticket, error) {
	b.add("GetTicket")
	if req.GetTicketId() == "quota" {
		if b.add("quota") == 1 {
			return nil, status.Error(codes.ResourceExhausted, "quota exceeded, try again")
		}
		return &pb.Ticket{Id: "quota"}, nil
	}
	return &pb.Ticket{Id: bigID}, nil
}

func (b *bigReplies) QueryTickets(_ *pb.QueryTicketsRequest, stream pb.QueryService_QueryTicketsServer) error {
	b.add("QueryTickets")
	return stream.Send(&pb.QueryTicketsResponse{Tickets: []*pb.Ticket{{Id: bigID}}})
}

// TestReplyOverSizeLimitNotRetried: grpc-go's local ResourceExhausted for a
// reply over the receive limit is returned after one attempt, for unary calls
// and query streams alike; a ResourceExhausted the server sends is still
// retried.
func TestReplyOverSizeLimitNotRetried(t *testing.T) {
	ctx := testContext(t)
	b := &bigReplies{calls: map[string]int{}}
	srv := startServer(t, func(gs *grpc.Server) {
		pb.RegisterFrontendServiceServer(gs, b)
		pb.RegisterQueryServiceServer(gs, b)
	})
	c := dial(t, srv.addr)
	fe, q := omclient.NewFrontend(c), omclient.NewQuery(c)

	_, err := fe.GetTicket(ctx, "big")
	assert.Equal(t, codes.ResourceExhausted, status.Code(err), "GetTicket(5 MiB reply) = %v, want code ResourceExhausted", err)
	assert.ErrorContains(t, err, "larger than max")
	assert.Equal(t, 1, b.count("GetTicket"), "GetTicket calls the server saw for a reply over the limit")

	_, err = q.QueryTickets(ctx, &pb.Pool{Name: "all"})
	assert.Equal(t, codes.ResourceExhausted, status.Code(err), "QueryTickets(5 MiB page) = %v, want code ResourceExhausted", err)
	assert.Equal(t, 1, b.count("QueryTickets"), "QueryTickets calls the server saw for a page over the limit")

	tk, err := fe.GetTicket(ctx, "quota")
	require.NoError(t, err, "GetTicket() after a server-sent ResourceExhausted")
	assert.Equal(t, "quota", tk.GetId(), "GetTicket().Id")
	assert.Equal(t, 3, b.count("GetTicket"), "GetTicket calls in all (1 over the limit, then ResourceExhausted and the retry)")
}
