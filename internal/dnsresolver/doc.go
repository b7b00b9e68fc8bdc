// Package dnsresolver is a gRPC name resolver that looks a DNS name up on a
// timer, so that a round_robin connection follows a headless Service as pods
// come and go. grpc-go's own DNS resolver only re-resolves when a connection
// breaks (and at most every 30 s).
//
// Builders are wired per connection with grpc.WithResolvers; this package
// registers nothing with grpc-go. It also holds a resolver for a fixed list of
// addresses and the address validation shared by the balancer strategies.
package dnsresolver
