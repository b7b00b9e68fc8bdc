package xdstest_test

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	clusterpb "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corepb "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointpb "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerpb "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routepb "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoverypb "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/testing/xdstest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const (
	host = "open-match-frontend.open-match.svc.cluster.local"
	port = 50504
)

// ads is a raw ADS client stream to a Server.
type ads struct {
	stream discoverypb.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node   *corepb.Node
}

func newADS(t *testing.T, addr, nodeID string) *ads {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	stream, err := discoverypb.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(ctx)
	require.NoError(t, err)
	return &ads{stream: stream, node: &corepb.Node{Id: nodeID}}
}

// fetch asks for names of typeURL, acking prev when it is not nil, and
// returns the response.
func (a *ads) fetch(t *testing.T, typeURL string, prev *discoverypb.DiscoveryResponse, names ...string) *discoverypb.DiscoveryResponse {
	t.Helper()
	require.NoError(t, a.stream.Send(&discoverypb.DiscoveryRequest{
		Node: a.node, TypeUrl: typeURL, ResourceNames: names,
		VersionInfo: prev.GetVersionInfo(), ResponseNonce: prev.GetNonce(),
	}))
	resp, err := a.stream.Recv()
	require.NoError(t, err)
	require.Equal(t, typeURL, resp.GetTypeUrl())
	return resp
}

func one[M proto.Message](t *testing.T, resp *discoverypb.DiscoveryResponse, m M) M {
	t.Helper()
	require.Len(t, resp.GetResources(), 1, "resources in %s", resp.GetTypeUrl())
	require.NoError(t, resp.GetResources()[0].UnmarshalTo(m))
	return m
}

func TestServesIstioShapedConfig(t *testing.T) {
	srv := xdstest.NewServer(t)
	require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.1:7001", "127.0.0.2"))
	a := newADS(t, srv.Addr(), "sidecar~127.0.0.1~a.b~b.svc.cluster.local")
	lisName := xdstest.ListenerName(host, port)
	cluster := xdstest.ClusterName(host, port)
	assert.Equal(t, host+":50504", lisName)
	assert.Equal(t, "outbound|50504||"+host, cluster)

	lis := one(t, a.fetch(t, resource.ListenerType, nil, lisName), &listenerpb.Listener{})
	assert.Equal(t, lisName, lis.GetName())
	hcm := &hcmpb.HttpConnectionManager{}
	require.NoError(t, lis.GetApiListener().GetApiListener().UnmarshalTo(hcm))
	filters := hcm.GetHttpFilters()
	require.NotEmpty(t, filters)
	assert.Equal(t, wellknown.Router, filters[len(filters)-1].GetName(), "last http filter")
	routeName := hcm.GetRds().GetRouteConfigName()
	require.NotEmpty(t, routeName, "RDS route config name")
	assert.NotNil(t, hcm.GetRds().GetConfigSource().GetAds(), "RDS config source is ADS")

	rc := one(t, a.fetch(t, resource.RouteType, nil, routeName), &routepb.RouteConfiguration{})
	require.Len(t, rc.GetVirtualHosts(), 1)
	vh := rc.GetVirtualHosts()[0]
	assert.Contains(t, vh.GetDomains(), lisName)
	require.Len(t, vh.GetRoutes(), 1)
	assert.Equal(t, cluster, vh.GetRoutes()[0].GetRoute().GetCluster())

	c := one(t, a.fetch(t, resource.ClusterType, nil, cluster), &clusterpb.Cluster{})
	assert.Equal(t, clusterpb.Cluster_EDS, c.GetType())
	assert.Equal(t, clusterpb.Cluster_ROUND_ROBIN, c.GetLbPolicy())
	assert.NotNil(t, c.GetEdsClusterConfig().GetEdsConfig().GetAds())

	cla := one(t, a.fetch(t, resource.EndpointType, nil, cluster), &endpointpb.ClusterLoadAssignment{})
	require.Len(t, cla.GetEndpoints(), 1)
	loc := cla.GetEndpoints()[0]
	assert.True(t, proto.Equal(xdstest.Locality, loc.GetLocality()), "locality = %v, want %v", loc.GetLocality(), xdstest.Locality)
	assert.Equal(t, uint32(1), loc.GetLoadBalancingWeight().GetValue())
	var got []string
	for _, e := range loc.GetLbEndpoints() {
		sa := e.GetEndpoint().GetAddress().GetSocketAddress()
		got = append(got, net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue()))))
		assert.Equal(t, uint32(1), e.GetLoadBalancingWeight().GetValue())
	}
	assert.Equal(t, []string{"127.0.0.1:7001", "127.0.0.2:50504"}, got)
	assert.Contains(t, srv.Nodes(), "sidecar~127.0.0.1~a.b~b.svc.cluster.local")
}

func TestSetEndpointsPushesNewVersion(t *testing.T) {
	srv := xdstest.NewServer(t)
	require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.1"))
	a := newADS(t, srv.Addr(), "any-node")
	cluster := xdstest.ClusterName(host, port)
	first := a.fetch(t, resource.EndpointType, nil, cluster)
	assert.Equal(t, srv.Version(), first.GetVersionInfo())

	require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.1", "127.0.0.2"))
	// Acking the first version leaves a watch open that the update answers.
	second := a.fetch(t, resource.EndpointType, first, cluster)
	assert.NotEqual(t, first.GetVersionInfo(), second.GetVersionInfo())
	assert.Equal(t, srv.Version(), second.GetVersionInfo())
	cla := one(t, second, &endpointpb.ClusterLoadAssignment{})
	assert.Len(t, cla.GetEndpoints()[0].GetLbEndpoints(), 2)
}

func TestSetEndpointsBadInput(t *testing.T) {
	srv := xdstest.NewServer(t)
	for _, tc := range []struct {
		name  string
		host  string
		port  int
		addrs []string
	}{
		{name: "no host", port: port},
		{name: "port 0", host: host},
		{name: "bad endpoint port", host: host, port: port, addrs: []string{"127.0.0.1:http"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Error(t, srv.SetEndpoints(tc.host, tc.port, tc.addrs...))
		})
	}
}

func TestStopRestartSameAddress(t *testing.T) {
	srv := xdstest.NewServer(t)
	require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.1"))
	addr := srv.Addr()
	srv.Stop()
	srv.Stop() // idempotent
	require.NoError(t, srv.Restart())
	assert.Equal(t, addr, srv.Addr())
	a := newADS(t, srv.Addr(), "after-restart")
	one(t, a.fetch(t, resource.ClusterType, nil, xdstest.ClusterName(host, port)), &clusterpb.Cluster{})
	srv.Close()
	srv.Close() // idempotent
	assert.Error(t, srv.Restart(), "Restart() after Close")
}

func TestWriteBootstrap(t *testing.T) {
	srv := xdstest.NewServer(t)
	path := srv.WriteBootstrap(t, t.TempDir())
	assert.FileExists(t, path)
	assert.Contains(t, string(srv.Bootstrap("n")), srv.Addr())
	assert.Contains(t, string(srv.Bootstrap("n")), `"GENERATOR": "grpc"`)
}
