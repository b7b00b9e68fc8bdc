//go:build istiod

package istiod

import (
	"context"
	"fmt"
	"net/url"
	"slices"

	adminpb "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterpb "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointpb "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerpb "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routepb "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	// Types istiod puts inside the Any fields of what it sends a proxyless
	// gRPC client; protojson needs them registered to read the dump.
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/rbac/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	_ "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
)

// ConfigDump returns what istiod has sent the connected client whose id
// contains proxyID ("pod.namespace"), from /debug/config_dump with
// endpoints included.
func (s *Server) ConfigDump(ctx context.Context, proxyID string) (*adminpb.ConfigDump, error) {
	u := "http://" + s.monAddr + "/debug/config_dump?include_eds=true&proxyID=" + url.QueryEscape(proxyID)
	body, err := s.dumpHTTP.get(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("istiod: config dump: %w", err)
	}
	dump := &adminpb.ConfigDump{}
	if err := protojson.Unmarshal(body, dump); err != nil {
		return nil, fmt.Errorf("istiod: config dump: %w", err)
	}
	return dump, nil
}

// Resources are the four resources a gRPC client acts on for one service.
type Resources struct {
	// Listener is the API listener named "host:port".
	Listener *listenerpb.Listener
	// Route is the route configuration the listener names.
	Route *routepb.RouteConfiguration
	// Cluster is the cluster the service's route sends calls to.
	Cluster *clusterpb.Cluster
	// Endpoints are that cluster's endpoints.
	Endpoints *endpointpb.ClusterLoadAssignment
}

// ServiceResources follows, in dump, the chain grpc-go follows when it
// dials listener ("host:port"): the listener, the route configuration its
// connection manager names, the cluster of the first route of the virtual
// host whose domains hold listener, and that cluster's endpoints. A missing
// link is an error that names it.
func ServiceResources(dump *adminpb.ConfigDump, listener string) (Resources, error) {
	idx, err := indexDump(dump)
	if err != nil {
		return Resources{}, err
	}
	var r Resources
	if r.Listener, err = lookup[*listenerpb.Listener](idx, "listener", listener); err != nil {
		return r, err
	}
	hcm := &hcmpb.HttpConnectionManager{}
	if err := r.Listener.GetApiListener().GetApiListener().UnmarshalTo(hcm); err != nil {
		return r, fmt.Errorf("istiod: listener %s: http connection manager: %w", listener, err)
	}
	if r.Route, err = lookup[*routepb.RouteConfiguration](idx, "route configuration", hcm.GetRds().GetRouteConfigName()); err != nil {
		return r, err
	}
	if r.Cluster, err = lookup[*clusterpb.Cluster](idx, "cluster", clusterFor(r.Route, listener)); err != nil {
		return r, err
	}
	eds := r.Cluster.GetEdsClusterConfig().GetServiceName()
	if eds == "" {
		eds = r.Cluster.GetName()
	}
	r.Endpoints, err = lookup[*endpointpb.ClusterLoadAssignment](idx, "endpoints", eds)
	return r, err
}

// clusterFor returns the cluster of the first route of the virtual host
// whose domains hold authority.
func clusterFor(rc *routepb.RouteConfiguration, authority string) string {
	for _, vh := range rc.GetVirtualHosts() {
		if slices.Contains(vh.GetDomains(), authority) && len(vh.GetRoutes()) > 0 {
			return vh.GetRoutes()[0].GetRoute().GetCluster()
		}
	}
	return ""
}

func lookup[M proto.Message](idx map[string]proto.Message, what, name string) (M, error) {
	var zero M
	m, ok := idx[what+"/"+name].(M)
	if !ok {
		return zero, fmt.Errorf("istiod: config dump has no %s %q", what, name)
	}
	return m, nil
}

// indexDump returns every dynamic resource of dump under "kind/name".
func indexDump(dump *adminpb.ConfigDump) (map[string]proto.Message, error) {
	idx := map[string]proto.Message{}
	var anys []*anypb.Any
	for _, section := range dump.GetConfigs() {
		m, err := section.UnmarshalNew()
		if err != nil {
			return nil, fmt.Errorf("istiod: config dump section %s: %w", section.GetTypeUrl(), err)
		}
		anys = append(anys, dynamicResources(m)...)
	}
	for _, a := range anys {
		m, err := a.UnmarshalNew()
		if err != nil {
			return nil, fmt.Errorf("istiod: config dump resource %s: %w", a.GetTypeUrl(), err)
		}
		switch v := m.(type) {
		case *listenerpb.Listener:
			idx["listener/"+v.GetName()] = v
		case *routepb.RouteConfiguration:
			idx["route configuration/"+v.GetName()] = v
		case *clusterpb.Cluster:
			idx["cluster/"+v.GetName()] = v
		case *endpointpb.ClusterLoadAssignment:
			idx["endpoints/"+v.GetClusterName()] = v
		}
	}
	return idx, nil
}

// dynamicResources returns the resources of one config dump section.
func dynamicResources(section proto.Message) []*anypb.Any {
	var out []*anypb.Any
	switch d := section.(type) {
	case *adminpb.ListenersConfigDump:
		for _, l := range d.GetDynamicListeners() {
			out = append(out, l.GetActiveState().GetListener())
		}
	case *adminpb.RoutesConfigDump:
		for _, rc := range d.GetDynamicRouteConfigs() {
			out = append(out, rc.GetRouteConfig())
		}
	case *adminpb.ClustersConfigDump:
		for _, c := range d.GetDynamicActiveClusters() {
			out = append(out, c.GetCluster())
		}
	case *adminpb.EndpointsConfigDump:
		for _, e := range d.GetDynamicEndpointConfigs() {
			out = append(out, e.GetEndpointConfig())
		}
	}
	return slices.DeleteFunc(out, func(a *anypb.Any) bool { return a == nil })
}
