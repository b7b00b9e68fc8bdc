package xdstest

import (
	"fmt"
	"net"
	"strconv"

	clusterpb "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corepb "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointpb "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerpb "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routepb "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// Locality is the locality every endpoint is served in.
var Locality = &corepb.Locality{Region: "xdstest", Zone: "xdstest-a"}

// ListenerName returns the API listener name istiod serves for host:port,
// which is also what grpc-go asks for when dialing xds:///host:port.
func ListenerName(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// ClusterName returns Istio's outbound cluster name for host:port.
func ClusterName(host string, port int) string {
	return fmt.Sprintf("outbound|%d||%s", port, host)
}

// service is one host:port and its endpoints.
type service struct {
	host  string
	port  int
	addrs []string // "ip:port"
}

// resources returns the listener, route configuration, cluster and endpoints
// istiod sends proxyless gRPC for svc.
func (svc service) resources() (lis, route, cluster, eds types.Resource, err error) {
	name := ListenerName(svc.host, svc.port)
	cname := ClusterName(svc.host, svc.port)
	lis, err = listener(name, name)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	eds, err = loadAssignment(cname, svc.addrs)
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return lis, routeConfig(name, svc.host, cname), edsCluster(cname), eds, nil
}

// adsSource is a config source that says "on the same ADS stream".
func adsSource() *corepb.ConfigSource {
	return &corepb.ConfigSource{
		ResourceApiVersion:    corepb.ApiVersion_V3,
		ConfigSourceSpecifier: &corepb.ConfigSource_Ads{Ads: &corepb.AggregatedConfigSource{}},
	}
}

// listener returns an API listener whose HttpConnectionManager takes its
// routes from RDS and ends with the router filter, as gRPC requires.
func listener(name, routeName string) (*listenerpb.Listener, error) {
	router, err := anypb.New(&routerpb.Router{})
	if err != nil {
		return nil, err
	}
	manager, err := anypb.New(&hcmpb.HttpConnectionManager{
		RouteSpecifier: &hcmpb.HttpConnectionManager_Rds{Rds: &hcmpb.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: routeName,
		}},
		HttpFilters: []*hcmpb.HttpFilter{{
			Name:       wellknown.Router,
			ConfigType: &hcmpb.HttpFilter_TypedConfig{TypedConfig: router},
		}},
	})
	if err != nil {
		return nil, err
	}
	return &listenerpb.Listener{
		Name:        name,
		ApiListener: &listenerpb.ApiListener{ApiListener: manager},
	}, nil
}

// routeConfig routes every call for host to cluster.
func routeConfig(name, host, cluster string) *routepb.RouteConfiguration {
	return &routepb.RouteConfiguration{
		Name: name,
		VirtualHosts: []*routepb.VirtualHost{{
			Name:    name,
			Domains: []string{name, host},
			Routes: []*routepb.Route{{
				Match: &routepb.RouteMatch{PathSpecifier: &routepb.RouteMatch_Prefix{Prefix: "/"}},
				Action: &routepb.Route_Route{Route: &routepb.RouteAction{
					ClusterSpecifier: &routepb.RouteAction_Cluster{Cluster: cluster},
				}},
			}},
		}},
	}
}

// edsCluster returns a round-robin cluster whose endpoints come from EDS.
func edsCluster(name string) *clusterpb.Cluster {
	return &clusterpb.Cluster{
		Name:                 name,
		ClusterDiscoveryType: &clusterpb.Cluster_Type{Type: clusterpb.Cluster_EDS},
		EdsClusterConfig: &clusterpb.Cluster_EdsClusterConfig{
			EdsConfig:   adsSource(),
			ServiceName: name,
		},
		LbPolicy: clusterpb.Cluster_ROUND_ROBIN,
	}
}

// loadAssignment puts addrs ("ip:port") in one weighted locality.
func loadAssignment(cluster string, addrs []string) (*endpointpb.ClusterLoadAssignment, error) {
	lbs := make([]*endpointpb.LbEndpoint, 0, len(addrs))
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			return nil, fmt.Errorf("xdstest: endpoint %q: %w", a, err)
		}
		p, err := strconv.ParseUint(port, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("xdstest: endpoint %q: bad port: %w", a, err)
		}
		lbs = append(lbs, lbEndpoint(host, uint32(p)))
	}
	cla := &endpointpb.ClusterLoadAssignment{ClusterName: cluster}
	if len(lbs) > 0 {
		cla.Endpoints = []*endpointpb.LocalityLbEndpoints{{
			Locality:            proto.Clone(Locality).(*corepb.Locality),
			LoadBalancingWeight: wrapperspb.UInt32(1),
			LbEndpoints:         lbs,
		}}
	}
	return cla, nil
}

func lbEndpoint(host string, port uint32) *endpointpb.LbEndpoint {
	return &endpointpb.LbEndpoint{
		HealthStatus:        corepb.HealthStatus_HEALTHY,
		LoadBalancingWeight: wrapperspb.UInt32(1),
		HostIdentifier: &endpointpb.LbEndpoint_Endpoint{Endpoint: &endpointpb.Endpoint{
			Address: &corepb.Address{Address: &corepb.Address_SocketAddress{SocketAddress: &corepb.SocketAddress{
				Protocol:      corepb.SocketAddress_TCP,
				Address:       host,
				PortSpecifier: &corepb.SocketAddress_PortValue{PortValue: port},
			}}},
		}},
	}
}
