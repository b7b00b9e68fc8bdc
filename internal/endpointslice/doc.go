// Package endpointslice is the machinery of balancer/endpointslice: it
// lists and watches a Service's EndpointSlices with plain net/http (no
// client-go) and feeds the ready addresses to a gRPC resolver.
package endpointslice
