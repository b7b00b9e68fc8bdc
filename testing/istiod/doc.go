// Package istiod runs a real istiod (Istio's pilot-discovery) on loopback for
// tests that hold meshmatch, and the fake istiod in testing/xdstest, to the
// real control plane.
//
// A Server is one pilot-discovery process in file-config mode: no Kubernetes
// API server, every listener on 127.0.0.1, services given as ServiceEntry
// files in a directory it watches (a change reaches connected clients in
// about a second). The binary is built, or reused from a cache, by
// .ci/istiod.sh, a pinned Istio version with one small start-up guard; see
// that script for why.
//
// Every file but this one carries the build tag istiod, so the default
// go test ./... neither builds nor runs these tests. Run them with
// .ci/istiod-test, which builds or reuses the binary and runs
//
//	MESHMATCH_ISTIOD=$(.ci/istiod.sh) go test -race -count=1 -tags istiod ./testing/istiod/...
//
// istiod runs as a testing/proctest Process: the kernel kills it (on Linux)
// should the test binary die, Close gives it a few seconds after SIGTERM,
// and LogTail reads its output. The binary is a proctest Binary: a test
// whose binary is missing (MESHMATCH_ISTIOD unset or not executable) is
// skipped with a message saying how to get it, unless the environment
// variable MESHMATCH_INTEGRATION_REQUIRED (proctest.EnvRequired) is set to
// a non-empty value: then it fails, so that CI never counts a skipped test
// as a pass.
//
// Ports: istiod's HTTP, webhook and ControlZ listeners take port 0 (the
// kernel picks one). The xDS and monitoring ports are picked free by the
// Server before istiod starts, because clients must know the xDS address
// while istiod is down and across a restart, and istiod does not report the
// monitoring port it got for port 0. Everything listens on and connects to
// 127.0.0.0/8 only.
package istiod
