package omclient

import (
	"context"

	"google.golang.org/grpc/metadata"
)

// proxyNoRetry is the request header that keeps an Envoy proxy (an Istio
// sidecar) from retrying a call: Envoy's router lets x-envoy-max-retries
// override the route's num_retries, and Istio's default route retries
// UNAVAILABLE and CANCELLED twice. Envoy honours it only from downstreams
// it treats as internal; see the README's retry table for when that holds.
const proxyNoRetry = "x-envoy-max-retries"

// once marks ctx's call as one no proxy may retry, for the calls that make
// the server mint an id or bump a generation.
func once(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(ctx, proxyNoRetry, "0")
}
