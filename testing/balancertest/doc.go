// Package balancertest is the conformance suite that every balancer.Strategy
// passes, the way testing/fstest.TestFS checks every fs.FS.
//
// A strategy's tests provide a Harness: given real gRPC backends started with
// StartBackends, it returns a Setup with the strategy, the logical address to
// dial and a way to change which backends discovery returns. Run then checks
// that calls spread over every backend, that membership changes are followed,
// that a dead backend costs no idempotent call, that Detect keeps its deadline,
// that Dial rejects invalid addresses and that Close is idempotent.
// BenchSpread, BenchScaleUp and BenchFailover measure the same properties as
// benchmarks.
//
// Use it in tests of your own Strategy implementations. Everything it starts
// listens on loopback only (127.0.0.1 to 127.0.0.n).
package balancertest
