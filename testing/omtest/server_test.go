package omtest_test

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

func TestStartZeroConfig(t *testing.T) {
	ctx := testCtx(t)
	s, err := omtest.Start(omtest.Config{})
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	host, _, err := net.SplitHostPort(s.Addr())
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1", host)
	assert.Equal(t, s.Addr(), s.FrontendAddr())
	assert.Equal(t, s.Addr(), s.BackendAddr())
	assert.Equal(t, s.Addr(), s.QueryAddr())
	_, err = pb.NewFrontendServiceClient(s.Conn()).CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
}

func TestStartSeparateAddresses(t *testing.T) {
	ctx := testCtx(t)
	s, err := omtest.Start(omtest.Config{FrontendAddr: "127.0.0.1:0", BackendAddr: "127.0.0.1:0", QueryAddr: "127.0.0.1:0"})
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()
	addrs := []string{s.FrontendAddr(), s.BackendAddr(), s.QueryAddr()}
	assert.Len(t, map[string]bool{addrs[0]: true, addrs[1]: true, addrs[2]: true}, 3, "three listeners: %v", addrs)
	assert.Equal(t, s.FrontendAddr(), s.Addr())

	tk, err := s.Frontend().CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
	ids, err := queryIDsErr(ctx, s, &pb.Pool{})
	require.NoError(t, err)
	assert.Equal(t, []string{tk.GetId()}, ids, "one store behind every listener")

	// Each listener serves only its own service, like a real install.
	_, err = pb.NewBackendServiceClient(s.Conn()).ReleaseAllTickets(ctx, &pb.ReleaseAllTicketsRequest{})
	assertStatus(t, err, codes.Unimplemented, "")
}

func TestStartPortInUse(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer lis.Close()
	_, err = omtest.Start(omtest.Config{FrontendAddr: "127.0.0.1:0", BackendAddr: lis.Addr().String()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "omtest: listen on "+lis.Addr().String())
}

func TestHealthAndReflection(t *testing.T) {
	ctx := testCtx(t)
	s := omtest.NewServer(t)
	hc := healthpb.NewHealthClient(s.Conn())
	for _, svc := range []string{"", "openmatch.FrontendService", "openmatch.BackendService", "openmatch.QueryService"} {
		resp, err := hc.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		require.NoError(t, err)
		assert.Equal(t, healthpb.HealthCheckResponse_SERVING, resp.GetStatus(), "health of %q", svc)
	}

	stream, err := reflectionpb.NewServerReflectionClient(s.Conn()).ServerReflectionInfo(ctx)
	require.NoError(t, err)
	require.NoError(t, stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}))
	resp, err := stream.Recv()
	require.NoError(t, err)
	require.NoError(t, stream.CloseSend())
	var names []string
	for _, svc := range resp.GetListServicesResponse().GetService() {
		names = append(names, svc.GetName())
	}
	assert.Subset(t, names, []string{"openmatch.FrontendService", "openmatch.BackendService", "openmatch.QueryService", "grpc.health.v1.Health"})
}

func TestCloseEndsStreamsAndIsIdempotent(t *testing.T) {
	ctx := testCtx(t)
	s, err := omtest.Start(omtest.Config{})
	require.NoError(t, err)
	cc, err := grpc.NewClient(s.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	defer cc.Close()
	fe := pb.NewFrontendServiceClient(cc)
	tk, err := fe.CreateTicket(ctx, &pb.CreateTicketRequest{Ticket: &pb.Ticket{}})
	require.NoError(t, err)
	stream, err := fe.WatchAssignments(ctx, &pb.WatchAssignmentsRequest{TicketId: tk.GetId()})
	require.NoError(t, err)
	_, errc := watchMessages(ctx, t, stream)

	require.NoError(t, s.Close(), "Close waits for the open watch")
	require.NoError(t, s.Close())
	select {
	case err := <-errc:
		assert.Error(t, err)
	case <-ctx.Done():
		t.Fatal("watch stream did not end on Close")
	}
}
