package dnsresolver

import (
	"slices"

	"google.golang.org/grpc/resolver"
)

// NewStaticBuilder returns a resolver.Builder under scheme that reports the
// fixed addrs ("host:port" each) once and never changes them.
func NewStaticBuilder(scheme string, addrs []string) resolver.Builder {
	return &staticBuilder{scheme: scheme, addrs: slices.Clone(addrs)}
}

type staticBuilder struct {
	scheme string
	addrs  []string
}

func (b *staticBuilder) Scheme() string { return b.scheme }

func (b *staticBuilder) Build(_ resolver.Target, cc resolver.ClientConn, _ resolver.BuildOptions) (resolver.Resolver, error) {
	if err := cc.UpdateState(state(b.addrs)); err != nil {
		return nil, err
	}
	return staticResolver{}, nil
}

type staticResolver struct{}

func (staticResolver) ResolveNow(resolver.ResolveNowOptions) {}
func (staticResolver) Close()                                {}
