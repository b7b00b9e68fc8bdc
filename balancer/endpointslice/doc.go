// Package endpointslice is a balancing strategy that watches a Kubernetes
// Service's EndpointSlices (discovery.k8s.io/v1) and balances calls round
// robin over its ready endpoints, without a service mesh and without waiting
// for DNS: a new or removed pod is seen as soon as the API server tells.
// New connections never go to endpoints that are not ready or terminating.
//
// Importing the package adds the strategy to omclient's default chain,
// between proxyless xDS and Headless, and lets MESHMATCH_STRATEGY name it:
//
//	import _ "github.com/meshmatch/meshmatch/balancer/endpointslice"
//
// It talks to the API server with net/http and decodes the k8s.io/api
// types, which add about 9 MB to a binary; it does not link client-go.
// Programs that do not import it link neither.
//
// The pod's service account needs list and watch on endpointslices in the
// Service's namespace (a Role and a RoleBinding there, binding the pod's
// ServiceAccount; deploy/overlays/endpointslice has them), and the pod
// must mount its token (automountServiceAccountToken).
//
// # Experimental
//
// This package is new; its API may change.
package endpointslice
