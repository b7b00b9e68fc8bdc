// Package proctest runs real binaries in tests: a server such as nginx,
// dnsmasq, istiod, etcd, kube-apiserver or CoreDNS, started as a child of the
// test binary, with its output kept as lines a test can wait on, a bounded
// stop, and the output written to the test log when the test fails.
//
// It is the one way meshmatch's tests run a real binary: testing/istiod,
// testing/integration and testing/kubetest build on it. A Binary says where
// a test finds the executable (an environment variable or PATH), which
// version it must be, and how to get it; Require skips a test without it, or
// fails the test when MESHMATCH_INTEGRATION_REQUIRED is set, as CI does.
package proctest
