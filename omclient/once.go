package omclient

import (
	"context"

	"google.golang.org/grpc/connectivity"
	"google.golang.org/grpc/metadata"
)

// proxyNoRetry is the request header that keeps an Envoy proxy (an Istio
// sidecar) from retrying a call: Envoy's router lets x-envoy-max-retries
// override the route's num_retries, and Istio's default route retries
// UNAVAILABLE and CANCELLED twice. Envoy honours it only from downstreams
// it treats as internal; see the README's retry table for when that holds.
const proxyNoRetry = "x-envoy-max-retries"

// onceKey marks a call's context as one the SDK must not retry.
type onceKey struct{}

// once marks ctx's call as one no proxy may retry, for the calls that make
// the server mint an id or bump a generation.
func once(ctx context.Context) context.Context {
	return metadata.AppendToOutgoingContext(context.WithValue(ctx, onceKey{}, true), proxyNoRetry, "0")
}

func isOnce(ctx context.Context) bool { return ctx.Value(onceKey{}) != nil }

// awaitReachable holds a call the SDK must not retry while the connection
// can reach no backend at all (TRANSIENT_FAILURE, and CONNECTING after it):
// grpc-go would fail it at once with Unavailable although nothing was sent,
// and a moment later, when a sidecar or the only reachable replica is back,
// the call would have gone through. Waiting sends nothing, so it cannot
// duplicate the call. The wait ends with ctx, and after the retry policy's
// MaxElapsed when ctx has no deadline; the call then goes ahead and fails
// as it would have.
func (c *Conn) awaitReachable(ctx context.Context) {
	s := c.cc.GetState()
	if s != connectivity.TransientFailure {
		return
	}
	if _, ok := ctx.Deadline(); !ok {
		if bound := c.retry.withDefaults().MaxElapsed; bound > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, bound)
			defer cancel()
		}
	}
	for s == connectivity.TransientFailure || s == connectivity.Connecting {
		if !c.cc.WaitForStateChange(ctx, s) {
			return
		}
		s = c.cc.GetState()
	}
}
