package xdstest

//lint:file-ignore SA1019 istiod sets the deprecated max_grpc_timeout on the default route, and so does this fake.

import (
	"strings"

	routepb "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushostspb "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// IstioRetryPolicy returns a new copy of the retry policy istiod puts on
// every default outbound route when the mesh config and VirtualServices say
// nothing about retries (Istio's retry.DefaultPolicy): retry on
// connect-failure, refused-stream, unavailable, cancelled and
// retriable-status-codes, at most 2 retries, never on a host already tried,
// and at most 5 host selections per retry. grpc-go applies it: the codes
// Unavailable and Cancelled are retried, with up to 3 attempts in all.
func IstioRetryPolicy() *routepb.RetryPolicy {
	predicate, err := anypb.New(&previoushostspb.PreviousHostsPredicate{})
	if err != nil {
		panic("xdstest: retry host predicate: " + err.Error()) // an empty message always marshals
	}
	return &routepb.RetryPolicy{
		RetryOn:    "connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes",
		NumRetries: wrapperspb.UInt32(2),
		RetryHostPredicate: []*routepb.RetryPolicy_RetryHostPredicate{{
			Name:       "envoy.retry_host_predicates.previous_hosts",
			ConfigType: &routepb.RetryPolicy_RetryHostPredicate_TypedConfig{TypedConfig: predicate},
		}},
		HostSelectionRetryMaxAttempts: 5,
	}
}

// routeConfig returns the route configuration istiod sends proxyless gRPC
// for svc (grpcgen's buildHTTPRoute): named like the cluster, with one
// virtual host "host:port" whose one route "default" sends every call
// (prefix "/") to the cluster with retry as its retry policy and no timeout.
func routeConfig(svc service, retry *routepb.RetryPolicy) *routepb.RouteConfiguration {
	name := ListenerName(svc.host, svc.port)
	cluster := ClusterName(svc.host, svc.port)
	return &routepb.RouteConfiguration{
		Name: cluster,
		VirtualHosts: []*routepb.VirtualHost{{
			Name:    name,
			Domains: domains(svc.host, svc.port),
			Routes: []*routepb.Route{{
				Name:      "default",
				Match:     &routepb.RouteMatch{PathSpecifier: &routepb.RouteMatch_Prefix{Prefix: "/"}},
				Decorator: &routepb.Decorator{Operation: name + "/*"},
				Action: &routepb.Route_Route{Route: &routepb.RouteAction{
					ClusterSpecifier: &routepb.RouteAction_Cluster{Cluster: cluster},
					RetryPolicy:      retry,
					Timeout:          durationpb.New(0),
					MaxGrpcTimeout:   durationpb.New(0),
				}},
			}},
		}},
	}
}

// domains returns the virtual host domains istiod generates for host:port
// as seen from a client in another namespace of the same cluster
// (generateVirtualHostDomains): the name and the absolute name, each with
// and without the port, then for a Kubernetes name "svc.ns.svc.cluster.local"
// the short names "svc.ns" and "svc.ns.svc", each with and without the port.
// (A client in the service's own namespace would also get "svc"; grpc-go
// matches only the dialed "host:port", so the difference is never seen.)
// clusterDomain is the cluster's DNS domain, as in DefaultNodeID.
const clusterDomain = "cluster.local"

func domains(host string, port int) []string {
	names := []string{host, host + "."}
	if short, ok := strings.CutSuffix(host, ".svc."+clusterDomain); ok && strings.Contains(short, ".") {
		names = append(names, short, short+".svc")
	}
	out := make([]string, 0, 2*len(names))
	for _, n := range names {
		out = append(out, n, ListenerName(n, port))
	}
	return out
}
