//go:build istiod

package istiod_test

import (
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	corepb "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointpb "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	routepb "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/testing/istiod"
)

// A driftField is one thing a gRPC client acts on, read from a service's
// resources the way grpc-go reads it. Values are strings, or messages
// compared with proto.Equal. A note field is a raw value behind a field
// that is compared as grpc-go reads it: a difference is logged, not failed.
type driftField struct {
	name string
	get  func(r istiod.Resources, addr string) any
	note bool
}

// driftFields are the fields the drift check compares, in the order grpc-go
// reads them.
var driftFields = []driftField{
	{name: "listener name", get: func(r istiod.Resources, _ string) any { return r.Listener.GetName() }},
	{name: "listener route source", get: routeSource},
	{name: "listener http filters", get: httpFilters},
	{name: "virtual host for the dialed address", get: func(r istiod.Resources, addr string) any { return vhostDomain(r, addr) }},
	{name: "route count", get: func(r istiod.Resources, addr string) any { return strconv.Itoa(len(vhost(r, addr).GetRoutes())) }},
	{name: "route match", get: func(r istiod.Resources, addr string) any { return firstRoute(r, addr).GetMatch() }},
	{name: "route cluster", get: func(r istiod.Resources, addr string) any { return routeCluster(r, addr) }},
	{name: "route retry policy", get: func(r istiod.Resources, addr string) any { return firstRoute(r, addr).GetRoute().GetRetryPolicy() }},
	{name: "route max stream duration", get: func(r istiod.Resources, addr string) any {
		return firstRoute(r, addr).GetRoute().GetMaxStreamDuration()
	}},
	{name: "cluster type", get: func(r istiod.Resources, _ string) any { return r.Cluster.GetType().String() }},
	{name: "cluster lb policy", get: lbPolicy},
	{name: "cluster transport socket", get: func(r istiod.Resources, _ string) any { return r.Cluster.GetTransportSocket() }},
	{name: "cluster outlier detection", get: func(r istiod.Resources, _ string) any { return r.Cluster.GetOutlierDetection() }},
	{name: "cluster circuit breakers", get: func(r istiod.Resources, _ string) any { return r.Cluster.GetCircuitBreakers() }},
	{name: "endpoint addresses and health", get: endpointUse},
	{name: "endpoint locality weight shares", get: localityShares},
	{name: "endpoint health status (raw)", get: endpointHealth, note: true},
	{name: "endpoint locality weights (raw)", get: localityWeights, note: true},
}

// endpointUse lists each endpoint and whether grpc-go sends it calls: it
// uses HEALTHY and UNKNOWN endpoints alike and skips every other status
// (cdsbalancer/configbuilder.go in grpc-go v1.85).
func endpointUse(r istiod.Resources, _ string) any {
	var out []string
	for _, loc := range r.Endpoints.GetEndpoints() {
		for _, e := range loc.GetLbEndpoints() {
			use := "used"
			if hs := e.GetHealthStatus(); hs != corepb.HealthStatus_HEALTHY && hs != corepb.HealthStatus_UNKNOWN {
				use = "skipped (" + hs.String() + ")"
			}
			out = append(out, endpointAddr(e)+" "+use)
		}
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

// localityShares is each locality's share of the total weight, which is
// what grpc-go's weighted target balances by (a weight of 0 drops the
// locality).
func localityShares(r istiod.Resources, _ string) any {
	var sum uint64
	for _, loc := range r.Endpoints.GetEndpoints() {
		sum += uint64(loc.GetLoadBalancingWeight().GetValue())
	}
	var out []string
	for _, loc := range r.Endpoints.GetEndpoints() {
		share := 0.0
		if sum > 0 {
			share = float64(loc.GetLoadBalancingWeight().GetValue()) / float64(sum)
		}
		out = append(out, fmt.Sprintf("%.3f", share))
	}
	slices.Sort(out)
	return strings.Join(out, ", ")
}

func endpointAddr(e *endpointpb.LbEndpoint) string {
	sa := e.GetEndpoint().GetAddress().GetSocketAddress()
	return net.JoinHostPort(sa.GetAddress(), strconv.Itoa(int(sa.GetPortValue())))
}

func routeSource(r istiod.Resources, _ string) any {
	hcm := &hcmpb.HttpConnectionManager{}
	if err := r.Listener.GetApiListener().GetApiListener().UnmarshalTo(hcm); err != nil {
		return "no http connection manager: " + err.Error()
	}
	switch {
	case hcm.GetRds() != nil && hcm.GetRds().GetConfigSource().GetAds() != nil:
		return "RDS over ADS"
	case hcm.GetRds() != nil:
		return "RDS from " + hcm.GetRds().GetConfigSource().String()
	case hcm.GetRouteConfig() != nil:
		return "inline route configuration"
	}
	return "none"
}

// httpFilters lists the connection manager's HTTP filters (name and config
// type); grpc-go runs them in order and rejects a listener with a filter it
// does not know unless the filter is optional.
func httpFilters(r istiod.Resources, _ string) any {
	hcm := &hcmpb.HttpConnectionManager{}
	if err := r.Listener.GetApiListener().GetApiListener().UnmarshalTo(hcm); err != nil {
		return "no http connection manager: " + err.Error()
	}
	var out []string
	for _, f := range hcm.GetHttpFilters() {
		out = append(out, f.GetName()+" "+f.GetTypedConfig().GetTypeUrl())
	}
	return strings.Join(out, ", ")
}

// vhost returns the virtual host grpc-go picks for addr: the first whose
// domains hold addr exactly, else one holding "*".
func vhost(r istiod.Resources, addr string) *routepb.VirtualHost {
	var wildcard *routepb.VirtualHost
	for _, vh := range r.Route.GetVirtualHosts() {
		if slices.Contains(vh.GetDomains(), addr) {
			return vh
		}
		if wildcard == nil && slices.Contains(vh.GetDomains(), "*") {
			wildcard = vh
		}
	}
	return wildcard
}

func vhostDomain(r istiod.Resources, addr string) string {
	switch vh := vhost(r, addr); {
	case vh == nil:
		return "none"
	case slices.Contains(vh.GetDomains(), addr):
		return "domain " + addr
	default:
		return "wildcard"
	}
}

func firstRoute(r istiod.Resources, addr string) *routepb.Route {
	if routes := vhost(r, addr).GetRoutes(); len(routes) > 0 {
		return routes[0]
	}
	return nil
}

func routeCluster(r istiod.Resources, addr string) string {
	return firstRoute(r, addr).GetRoute().GetCluster()
}

// lbPolicy is the policy grpc-go uses: load_balancing_policy when set,
// else lb_policy (whose zero value is ROUND_ROBIN).
func lbPolicy(r istiod.Resources, _ string) any {
	if p := r.Cluster.GetLoadBalancingPolicy(); p != nil {
		var names []string
		for _, pol := range p.GetPolicies() {
			names = append(names, pol.GetTypedExtensionConfig().GetTypedConfig().GetTypeUrl())
		}
		return "load_balancing_policy " + strings.Join(names, ",")
	}
	return r.Cluster.GetLbPolicy().String()
}

func endpointHealth(r istiod.Resources, _ string) any {
	var out []string
	for _, loc := range r.Endpoints.GetEndpoints() {
		for _, e := range loc.GetLbEndpoints() {
			out = append(out, endpointAddr(e)+"="+e.GetHealthStatus().String())
		}
	}
	slices.Sort(out)
	return strings.Join(out, " ")
}

func localityWeights(r istiod.Resources, _ string) any {
	var out []string
	for _, loc := range r.Endpoints.GetEndpoints() {
		out = append(out, fmt.Sprintf("weight %d, %d endpoints", loc.GetLoadBalancingWeight().GetValue(), len(loc.GetLbEndpoints())))
	}
	slices.Sort(out)
	return strings.Join(out, "; ")
}

// resourceName is a resource's name; endpoints are named by their cluster.
func resourceName(m proto.Message) string {
	switch v := m.(type) {
	case *endpointpb.ClusterLoadAssignment:
		return v.GetClusterName()
	case interface{ GetName() string }:
		return v.GetName()
	}
	return ""
}
