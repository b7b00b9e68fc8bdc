// Package balancer holds the pluggable part of meshmatch: how a connection to an
// Open-Match service reaches its pods.
//
// A Strategy turns a logical service address ("host:port") into a gRPC connection
// that balances calls over the service's pods. The built-in strategies are
// Sidecar (through an Istio sidecar), Headless (client-side round robin over a
// headless Service's DNS records, re-resolved on a timer) and Static (a fixed list
// of addresses). The proxyless xDS strategy lives in package
// github.com/meshmatch/meshmatch/xds so that programs which do not want it do not
// link grpc-go's xDS client, and the EndpointSlice watch lives in package
// github.com/meshmatch/meshmatch/balancer/endpointslice for the same reason
// (it decodes k8s.io/api types). Auto tries a chain of strategies in order and
// falls back at run time.
//
// Its name clashes with grpc-go's google.golang.org/grpc/balancer; import it
// with an alias where both are used:
//
//	import mmbalancer "github.com/meshmatch/meshmatch/balancer"
//
// Importing this package registers nothing with grpc-go: every resolver and
// balancing policy is wired per connection. Auto's machinery lives in an
// internal package; this one holds the configuration structs.
package balancer
