// Package omclient is the entry point of meshmatch: typed Open-Match v1 clients
// whose gRPC traffic is balanced correctly in whatever cluster the program runs in.
//
// NewConn returns a Conn (a grpc.ClientConnInterface) for one Open-Match service.
// It does no blocking I/O: by default the connection runs the balancer.Auto chain
// in the background (Istio sidecar, then proxyless xDS from istiod, then
// client-side round robin over a headless Service re-resolved on a timer), and
// the first calls wait for that choice within their own deadline.
//
// Frontend, Backend and Query wrap the generated clients of package pb with the
// retry rules each RPC can bear: calls that make the server mint an id or bump a
// generation (CreateTicket, CreateBackfill, UpdateBackfill, AcknowledgeBackfill)
// are never retried by the SDK, and carry x-envoy-max-retries: 0 so that an
// Istio sidecar does not retry them either; idempotent unary calls are retried
// on Unavailable and on ResourceExhausted (except a message over the size
// limit) with exponential backoff and jitter, bounded by the caller's context;
// query streams restart from scratch; FetchMatches is retried only before its
// first match; WatchAssignments resumes by itself.
//
// Dial* with an empty address use $MESHMATCH_FRONTEND_ADDR,
// $MESHMATCH_BACKEND_ADDR or $MESHMATCH_QUERY_ADDR, else the Helm install's
// names (see FrontendAddr). $MESHMATCH_STRATEGY ("sidecar", "xds" or
// "headless") forces one strategy of the default chain.
//
// NewMatchFunctionServer and NewEvaluatorServer serve the two services users
// implement, with the standard health service and Open-Match's keepalive policy.
//
// Building with the tag meshmatch_noxds leaves the proxyless xDS strategy (and
// grpc-go's xDS client, about 25 MB of binary) out of the default chain.
package omclient
