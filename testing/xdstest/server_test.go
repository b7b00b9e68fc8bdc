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
	"google.golang.org/protobuf/types/known/wrapperspb"

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
	checkListener(t, lis, lisName, cluster)
	rc := one(t, a.fetch(t, resource.RouteType, nil, cluster), &routepb.RouteConfiguration{})
	checkRoute(t, rc, cluster)
	assert.True(t, proto.Equal(xdstest.IstioRetryPolicy(), rc.GetVirtualHosts()[0].GetRoutes()[0].GetRoute().GetRetryPolicy()),
		"route retry policy = %v, want IstioRetryPolicy()", rc.GetVirtualHosts()[0].GetRoutes()[0].GetRoute().GetRetryPolicy())

	c := one(t, a.fetch(t, resource.ClusterType, nil, cluster), &clusterpb.Cluster{})
	assert.Equal(t, clusterpb.Cluster_EDS, c.GetType())
	assert.Equal(t, clusterpb.Cluster_ROUND_ROBIN, c.GetLbPolicy(), "lb_policy unset reads as round robin")
	assert.NotNil(t, c.GetEdsClusterConfig().GetEdsConfig().GetAds())

	cla := one(t, a.fetch(t, resource.EndpointType, nil, cluster), &endpointpb.ClusterLoadAssignment{})
	checkEndpoints(t, cla, "127.0.0.1:7001", "127.0.0.2:50504")
	assert.Contains(t, srv.Nodes(), "sidecar~127.0.0.1~a.b~b.svc.cluster.local")
}

// checkListener checks the API listener istiod sends: HCM over ADS with the
// fault and router filters.
func checkListener(t *testing.T, lis *listenerpb.Listener, name, routeName string) {
	t.Helper()
	assert.Equal(t, name, lis.GetName())
	hcm := &hcmpb.HttpConnectionManager{}
	require.NoError(t, lis.GetApiListener().GetApiListener().UnmarshalTo(hcm))
	var filters []string
	for _, f := range hcm.GetHttpFilters() {
		filters = append(filters, f.GetName())
	}
	assert.Equal(t, []string{wellknown.Fault, wellknown.Router}, filters, "http filters")
	assert.Equal(t, routeName, hcm.GetRds().GetRouteConfigName(), "RDS route config name")
	assert.NotNil(t, hcm.GetRds().GetConfigSource().GetAds(), "RDS config source is ADS")
}

// checkRoute checks istiod's route: one virtual host with short names, one
// route on prefix "/" to the cluster.
func checkRoute(t *testing.T, rc *routepb.RouteConfiguration, cluster string) {
	t.Helper()
	assert.Equal(t, cluster, rc.GetName())
	require.Len(t, rc.GetVirtualHosts(), 1)
	vh := rc.GetVirtualHosts()[0]
	assert.Equal(t, host+":50504", vh.GetName())
	assert.Equal(t, []string{
		host, host + ":50504", host + ".", host + ".:50504",
		"open-match-frontend.open-match", "open-match-frontend.open-match:50504",
		"open-match-frontend.open-match.svc", "open-match-frontend.open-match.svc:50504",
	}, vh.GetDomains(), "virtual host domains")
	require.Len(t, vh.GetRoutes(), 1)
	r := vh.GetRoutes()[0]
	assert.Equal(t, "/", r.GetMatch().GetPrefix(), "route match prefix")
	assert.Equal(t, cluster, r.GetRoute().GetCluster())
}

func checkEndpoints(t *testing.T, cla *endpointpb.ClusterLoadAssignment, want ...string) {
	t.Helper()
	require.Len(t, cla.GetEndpoints(), 1)
	loc := cla.GetEndpoints()[0]
	assert.True(t, proto.Equal(xdstest.DefaultLocality(), loc.GetLocality()), "locality = %v, want %v", loc.GetLocality(), xdstest.DefaultLocality())
	assert.Equal(t, uint32(len(want)), loc.GetLoadBalancingWeight().GetValue(), "locality weight: the sum of its endpoints' weights")
	var got []string
	for _, e := range loc.GetLbEndpoints() {
		sa := e.GetEndpoint().GetAddress().GetSocketAddress()
		got = append(got, net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue()))))
		assert.Equal(t, uint32(1), e.GetLoadBalancingWeight().GetValue())
		assert.Equal(t, corepb.HealthStatus_UNKNOWN, e.GetHealthStatus(), "endpoint health as istiod sends it")
	}
	assert.Equal(t, want, got)
}

func TestRetryPolicyOption(t *testing.T) {
	custom := &routepb.RetryPolicy{RetryOn: "unavailable", NumRetries: wrapperspb.UInt32(1)}
	for _, tc := range []struct {
		name string
		opts []xdstest.Option
		want *routepb.RetryPolicy
	}{
		{name: "default is istio's", want: xdstest.IstioRetryPolicy()},
		{name: "off", opts: []xdstest.Option{xdstest.WithRetryPolicy(nil)}},
		{name: "custom", opts: []xdstest.Option{xdstest.WithRetryPolicy(custom)}, want: custom},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := xdstest.NewServer(t, tc.opts...)
			require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.1"))
			a := newADS(t, srv.Addr(), "n")
			rc := one(t, a.fetch(t, resource.RouteType, nil, xdstest.ClusterName(host, port)), &routepb.RouteConfiguration{})
			got := rc.GetVirtualHosts()[0].GetRoutes()[0].GetRoute().GetRetryPolicy()
			assert.True(t, proto.Equal(tc.want, got), "retry policy = %v, want %v", got, tc.want)
		})
	}
}

func TestIstioRetryPolicy(t *testing.T) {
	p := xdstest.IstioRetryPolicy()
	assert.Equal(t, "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes", p.GetRetryOn())
	assert.Equal(t, uint32(2), p.GetNumRetries().GetValue())
	assert.Equal(t, int64(5), p.GetHostSelectionRetryMaxAttempts())
	require.Len(t, p.GetRetryHostPredicate(), 1)
	assert.Equal(t, "envoy.retry_host_predicates.previous_hosts", p.GetRetryHostPredicate()[0].GetName())
	p.RetryOn = "changed"
	assert.NotEqual(t, "changed", xdstest.IstioRetryPolicy().GetRetryOn(), "IstioRetryPolicy() returns a copy")
	l := xdstest.DefaultLocality()
	l.Zone = "changed"
	assert.Equal(t, "xdstest-a", xdstest.DefaultLocality().GetZone(), "DefaultLocality() returns a copy")
}

func TestResources(t *testing.T) {
	srv := xdstest.NewServer(t)
	_, ok := srv.Resources(host, port)
	assert.False(t, ok, "Resources() before SetEndpoints")
	require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.1"))
	require.NoError(t, srv.SetTLS(host, port, &xdstest.TLS{}))
	r, ok := srv.Resources(host, port)
	require.True(t, ok, "Resources() after SetEndpoints")
	a := newADS(t, srv.Addr(), "n")
	cluster := xdstest.ClusterName(host, port)
	for _, tc := range []struct {
		typeURL, name string
		want, got     proto.Message
	}{
		{typeURL: resource.ListenerType, name: xdstest.ListenerName(host, port), want: r.Listener, got: &listenerpb.Listener{}},
		{typeURL: resource.RouteType, name: cluster, want: r.Route, got: &routepb.RouteConfiguration{}},
		{typeURL: resource.ClusterType, name: cluster, want: r.Cluster, got: &clusterpb.Cluster{}},
		{typeURL: resource.EndpointType, name: cluster, want: r.Endpoints, got: &endpointpb.ClusterLoadAssignment{}},
	} {
		got := one(t, a.fetch(t, tc.typeURL, nil, tc.name), tc.got)
		assert.True(t, proto.Equal(tc.want, got), "%s served = %v, Resources() = %v", tc.typeURL, got, tc.want)
	}
	assert.NotNil(t, r.Cluster.GetTransportSocket(), "Resources() includes the TLS setting")
	r.Listener.Name = "changed"
	again, _ := srv.Resources(host, port)
	assert.NotEqual(t, "changed", again.Listener.GetName(), "Resources() returns a copy")
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
