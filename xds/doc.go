// Package xds is meshmatch's proxyless strategy: calls to an Open-Match
// service are balanced by grpc-go's own xDS client, configured by istiod,
// with no sidecar in the path.
//
// Use it in pods that run without an Istio sidecar but in a mesh whose istiod
// is reachable (or whose Istio agent writes an xDS bootstrap file, as Istio's
// "grpc-agent" injection template does). Put a Strategy in a balancer.Auto
// chain ahead of the headless strategy, so that a cluster without istiod
// falls back to DNS instead of failing:
//
//	auto := balancer.Auto{Strategies: []balancer.Strategy{
//		xds.Strategy{},
//		balancer.Headless{},
//	}}
//
// # Bootstrap
//
// grpc-go reads its bootstrap environment variables once, when its xds
// package initialises, and remembers a missing file as a failure for the
// life of the process. This package therefore never relies on that: it reads
// GRPC_XDS_BOOTSTRAP (waiting, for a bounded time, for the agent to write the
// file) or GRPC_XDS_BOOTSTRAP_CONFIG itself, or composes a bootstrap for istiod
// from the pod's identity, and hands the result to a resolver built for that
// one connection.
//
// # Retries
//
// istiod puts Istio's default retry policy on every route it sends, and
// grpc-go applies such a policy to every call. Retrying a CreateTicket that
// a backend stored before it failed to answer creates the ticket twice, so
// connections are dialed with grpc.WithDisableRetry: only gRPC's
// transparent retries (of calls no server processed) remain, and the
// per-call retries of omclient are the only others.
//
// # Security
//
// Connections use grpc-go's xDS credentials: a cluster that istiod sends
// with an UpstreamTlsContext is reached over TLS (mutual TLS when it names
// an identity certificate) with the certificates of the bootstrap's
// certificate provider "default", and any other cluster over plaintext.
// Istio's agent writes that provider into the bootstrap file; a composed
// bootstrap gets a file_watcher provider reading Strategy.CertDir when its
// three certificate files exist.
//
// # Cost
//
// This is the only meshmatch package that imports google.golang.org/grpc/xds.
// Importing it links grpc-go's xDS client, its balancing policies and the
// Envoy API types, which adds about 25 MB to a binary, and (through grpc-go's
// own init functions) registers the "xds" resolver and the xDS balancers and
// credentials with grpc-go. meshmatch itself registers nothing: the resolver
// it uses is wired per connection.
//
// # Experimental
//
// The resolver hook this package relies on is experimental in grpc-go, so
// this package may change when grpc-go's API does.
package xds
