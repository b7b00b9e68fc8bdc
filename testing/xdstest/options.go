package xdstest

import (
	routepb "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
)

// Option configures a Server.
type Option interface {
	apply(*options)
}

type options struct {
	retry *routepb.RetryPolicy // nil: routes carry no retry policy
}

func defaultOptions() options {
	return options{retry: IstioRetryPolicy()}
}

type funcOption func(*options)

func (f funcOption) apply(o *options) { f(o) }

// WithRetryPolicy sets the retry policy on every route the server sends,
// instead of IstioRetryPolicy. WithRetryPolicy(nil) turns it off: routes
// carry no retry policy, as istiod sends them for a VirtualService whose
// retries set attempts: 0.
func WithRetryPolicy(p *routepb.RetryPolicy) Option {
	var c *routepb.RetryPolicy
	if p != nil {
		c = proto.Clone(p).(*routepb.RetryPolicy)
	}
	return funcOption(func(o *options) { o.retry = c })
}
