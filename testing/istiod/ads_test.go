//go:build istiod

package istiod_test

import (
	"context"
	"fmt"
	"testing"

	corepb "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	hcmpb "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	discoverypb "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/meshmatch/meshmatch/testing/istiod"
)

// adsFetch asks the xDS server at addr, over one ADS stream and as a
// proxyless gRPC client with node id nodeID, for what a client dialing
// listener needs: the listener, its route configuration, the route's
// cluster and that cluster's endpoints, in the order grpc-go asks.
func adsFetch(ctx context.Context, t testing.TB, addr, nodeID, listener string) (istiod.Resources, error) {
	t.Helper()
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return istiod.Resources{}, err
	}
	defer cc.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := discoverypb.NewAggregatedDiscoveryServiceClient(cc).StreamAggregatedResources(ctx)
	if err != nil {
		return istiod.Resources{}, err
	}
	meta, _ := structpb.NewStruct(map[string]any{"GENERATOR": "grpc", "NAMESPACE": namespace, "INSTANCE_IPS": "127.0.0.1"})
	a := &adsStream{stream: stream, node: &corepb.Node{Id: nodeID, Metadata: meta}}
	return a.fetchAll(listener)
}

type adsStream struct {
	stream discoverypb.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	node   *corepb.Node
}

func (a *adsStream) fetchAll(listener string) (istiod.Resources, error) {
	var r istiod.Resources
	var err error
	if r.Listener, err = fetchOne(a, resource.ListenerType, listener, r.Listener); err != nil {
		return r, err
	}
	hcm := &hcmpb.HttpConnectionManager{}
	if err := r.Listener.GetApiListener().GetApiListener().UnmarshalTo(hcm); err != nil {
		return r, fmt.Errorf("listener %s: http connection manager: %w", listener, err)
	}
	if r.Route, err = fetchOne(a, resource.RouteType, hcm.GetRds().GetRouteConfigName(), r.Route); err != nil {
		return r, err
	}
	cluster := routeCluster(r, listener)
	if r.Cluster, err = fetchOne(a, resource.ClusterType, cluster, r.Cluster); err != nil {
		return r, err
	}
	eds := r.Cluster.GetEdsClusterConfig().GetServiceName()
	if eds == "" {
		eds = cluster
	}
	r.Endpoints, err = fetchOne(a, resource.EndpointType, eds, r.Endpoints)
	return r, err
}

// fetchOne requests name of typeURL and returns the resource the answer
// holds under that name.
func fetchOne[M proto.Message](a *adsStream, typeURL, name string, zero M) (M, error) {
	req := &discoverypb.DiscoveryRequest{Node: a.node, TypeUrl: typeURL, ResourceNames: []string{name}}
	if err := a.stream.Send(req); err != nil {
		return zero, fmt.Errorf("ads: request %s %q: %w", typeURL, name, err)
	}
	for {
		resp, err := a.stream.Recv()
		if err != nil {
			return zero, fmt.Errorf("ads: %s %q: %w", typeURL, name, err)
		}
		if resp.GetTypeUrl() != typeURL {
			continue
		}
		for _, any := range resp.GetResources() {
			m := zero.ProtoReflect().New().Interface().(M)
			if err := any.UnmarshalTo(m); err != nil {
				return zero, fmt.Errorf("ads: %s: %w", typeURL, err)
			}
			if resourceName(m) == name {
				return m, nil
			}
		}
		return zero, fmt.Errorf("ads: the answer to a request for %s %q does not hold it", typeURL, name)
	}
}
