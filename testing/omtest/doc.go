// Package omtest is an in-memory Open-Match v1 core for tests and local runs:
// FrontendService, BackendService and QueryService over one store, with the
// synchronizer window, the default evaluator and the backfill API, and no
// Redis or cluster.
//
// Use it the way net/http/httptest is used:
//
//	s := omtest.NewServer(t, omtest.WithMatchFunction(myMMF))
//	fe := s.Frontend() // generated clients over a real loopback connection
//
// NewServer listens on 127.0.0.1:0, registers Close with t.Cleanup, and
// exposes the address (Addr) and a ready client connection (Conn). Start does
// the same without a testing.TB and can give each service its own address,
// for programs that embed a core (see examples/omcore).
//
// The core follows Open-Match v1.8's behaviour and error codes and messages:
// ticket ids are server-minted xid-shaped strings; tickets returned by
// FetchMatches stay pending, hidden from queries, for PendingReleaseTimeout;
// assigned tickets are de-indexed and deleted after AssignedDeleteTimeout;
// backfills expire 0.8 × PendingReleaseTimeout after their last
// acknowledgement. Every timeout is measured with a Clock: give it a
// FakeClock and call Advance to trigger expirations without sleeping.
//
// The synchronizer works as Open-Match's does: every FetchMatches call that
// arrives during a cycle's RegistrationInterval joins that cycle, which starts
// its evaluator when it starts (Open-Match's synchronizer starts its
// evaluator goroutine before its registration loop), even when nothing is
// proposed, feeds it each proposal as the match functions send it and
// streams each accepted match back to its caller at once, also while the
// registration window is still open, so the evaluator resolves collisions
// between calls. An evaluator that accepts as it reads (a gRPC one through
// WithEvaluatorTarget, or WithStreamEvaluator in process) therefore delivers
// before the window ends; the default evaluator and WithEvaluator decide
// once the cycle's input closes, as they must. Match functions still running
// RegistrationInterval + ProposalCollectionInterval after the cycle began are
// cancelled. A caller that goes away cancels its match function; once the
// window is over and no caller is left, the evaluator stream is cancelled, so
// a stuck evaluator cannot hold up later cycles. Cycles run one after
// another. On a FakeClock the windows end only when the test advances the
// clock. The match function runs in process (WithMatchFunction takes the
// omclient.MatchFunc a match function server ships; WithMatchFunctionServer)
// or is dialed at the request's FunctionConfig host:port, over gRPC through
// the Dialer or over HTTP/JSON for type REST. Errors of a FetchMatches call
// come back with code Unknown and Open-Match's message shape
// "error(s) in FetchMatches call. syncErr=[…], mmfErr=[…]"; a panic in an
// in-process match function or evaluator becomes such an error.
//
// With Replicas (or WithReplicas) each service runs as several replicas on
// their own addresses (127.0.0.1, 127.0.0.2, … by default) over the one
// state and synchronizer, like Open-Match's stateless pods in front of one
// Redis, so that client-side balancing can be tried locally. StopReplica
// kills one (connections reset), DrainReplica drains it (GOAWAY) and
// RestartReplica serves it again on its address; ReplicaMeterProvider gives
// each its own server metrics.
//
// Servers enforce Open-Match's keepalive policy (pings every 10 s allowed,
// also without streams). Reset empties the core between tests.
//
// Unlike a real core, every server also serves the gRPC health service and
// server reflection, so grpcurl can explore it.
//
// The core is silent unless given a logger (WithLogger). Importing the package
// registers nothing globally.
package omtest
