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
	faultpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	routerpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// DefaultLocality returns a new copy of the locality every endpoint is
// served in.
func DefaultLocality() *corepb.Locality {
	return &corepb.Locality{Region: "xdstest", Zone: "xdstest-a"}
}

// ListenerName returns the API listener name istiod serves for host:port,
// which is also what grpc-go asks for when dialing xds:///host:port.
func ListenerName(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// ClusterName returns Istio's outbound cluster name for host:port, which is
// also the name of its route configuration.
func ClusterName(host string, port int) string {
	return fmt.Sprintf("outbound|%d||%s", port, host)
}

// Resources are the four resources the server sends for one service.
type Resources struct {
	Listener  *listenerpb.Listener
	Route     *routepb.RouteConfiguration
	Cluster   *clusterpb.Cluster
	Endpoints *endpointpb.ClusterLoadAssignment
}

// clone returns a deep copy of r.
func (r Resources) clone() Resources {
	return Resources{
		Listener:  proto.Clone(r.Listener).(*listenerpb.Listener),
		Route:     proto.Clone(r.Route).(*routepb.RouteConfiguration),
		Cluster:   proto.Clone(r.Cluster).(*clusterpb.Cluster),
		Endpoints: proto.Clone(r.Endpoints).(*endpointpb.ClusterLoadAssignment),
	}
}

// service is one host:port and its endpoints.
type service struct {
	host  string
	port  int
	addrs []string // "ip:port"
}

// resources returns the listener, route configuration, cluster and endpoints
// istiod sends proxyless gRPC for svc, with retry on its route.
func (svc service) resources(retry *routepb.RetryPolicy) (Resources, error) {
	cname := ClusterName(svc.host, svc.port)
	lis, err := listener(svc)
	if err != nil {
		return Resources{}, err
	}
	eds, err := loadAssignment(cname, svc.addrs)
	if err != nil {
		return Resources{}, err
	}
	return Resources{Listener: lis, Route: routeConfig(svc, retry), Cluster: edsCluster(cname), Endpoints: eds}, nil
}

// adsSource is a config source that says "on the same ADS stream", as
// istiod writes it.
func adsSource() *corepb.ConfigSource {
	return &corepb.ConfigSource{ConfigSourceSpecifier: &corepb.ConfigSource_Ads{Ads: &corepb.AggregatedConfigSource{}}}
}

// listener returns the API listener istiod sends for svc (grpcgen's
// buildOutboundListeners): named "host:port", addressed at the service's
// address (0.0.0.0 for a ServiceEntry without addresses), with an
// HttpConnectionManager that takes its routes over ADS and runs the fault
// and router filters.
func listener(svc service) (*listenerpb.Listener, error) {
	fault, err := anypb.New(&faultpb.HTTPFault{})
	if err != nil {
		return nil, err
	}
	router, err := anypb.New(&routerpb.Router{})
	if err != nil {
		return nil, err
	}
	manager, err := anypb.New(&hcmpb.HttpConnectionManager{
		HttpFilters: []*hcmpb.HttpFilter{
			{Name: wellknown.Fault, ConfigType: &hcmpb.HttpFilter_TypedConfig{TypedConfig: fault}},
			{Name: wellknown.Router, ConfigType: &hcmpb.HttpFilter_TypedConfig{TypedConfig: router}},
		},
		RouteSpecifier: &hcmpb.HttpConnectionManager_Rds{Rds: &hcmpb.Rds{
			ConfigSource:    adsSource(),
			RouteConfigName: ClusterName(svc.host, svc.port),
		}},
	})
	if err != nil {
		return nil, err
	}
	return &listenerpb.Listener{
		Name:        ListenerName(svc.host, svc.port),
		Address:     socketAddress("0.0.0.0", uint32(svc.port)),
		ApiListener: &listenerpb.ApiListener{ApiListener: manager},
	}, nil
}

// edsCluster returns the cluster istiod sends (grpcgen's edsCluster): EDS
// over ADS and no lb_policy, which grpc-go reads as round robin.
func edsCluster(name string) *clusterpb.Cluster {
	return &clusterpb.Cluster{
		Name:                 name,
		AltStatName:          name + ";",
		ClusterDiscoveryType: &clusterpb.Cluster_Type{Type: clusterpb.Cluster_EDS},
		EdsClusterConfig: &clusterpb.Cluster_EdsClusterConfig{
			EdsConfig:   adsSource(),
			ServiceName: name,
		},
	}
}

// loadAssignment puts addrs ("ip:port") in one locality, as istiod does:
// each endpoint of weight 1 and health UNKNOWN (which grpc-go uses, like
// HEALTHY), the locality weighted by the sum of its endpoints' weights.
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
			Locality:            DefaultLocality(),
			LoadBalancingWeight: wrapperspb.UInt32(uint32(len(lbs))),
			LbEndpoints:         lbs,
		}}
	}
	return cla, nil
}

func lbEndpoint(host string, port uint32) *endpointpb.LbEndpoint {
	return &endpointpb.LbEndpoint{
		HealthStatus:        corepb.HealthStatus_UNKNOWN,
		LoadBalancingWeight: wrapperspb.UInt32(1),
		HostIdentifier: &endpointpb.LbEndpoint_Endpoint{Endpoint: &endpointpb.Endpoint{
			Address: socketAddress(host, port),
		}},
	}
}

func socketAddress(host string, port uint32) *corepb.Address {
	return &corepb.Address{Address: &corepb.Address_SocketAddress{SocketAddress: &corepb.SocketAddress{
		Protocol:      corepb.SocketAddress_TCP,
		Address:       host,
		PortSpecifier: &corepb.SocketAddress_PortValue{PortValue: port},
	}}}
}
