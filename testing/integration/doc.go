// Package integration holds tests that run real system servers in front of
// meshmatch's balancing strategies, on loopback only:
//
//   - dnsmasq (Debian package dnsmasq-base) as the DNS server of
//     balancer.Headless. It answers only from a hosts directory the tests
//     rewrite while it runs, and never forwards a query.
//   - nginx (Debian package nginx-light) as a stand-in L7 sidecar for
//     balancer.Sidecar: it proxies gRPC per request to three backends.
//
// Every file but this one carries the build tag integration, so the default
// go test ./... neither builds nor runs them. Run them with
//
//	go test -race -count=1 -tags integration ./testing/integration/...
//
// The servers run as testing/proctest Processes, whose output the tests wait
// on line by line. A test whose server binary (dnsmasq or nginx, in PATH or
// /usr/sbin) is missing is skipped with the Debian package to install,
// unless the environment variable MESHMATCH_INTEGRATION_REQUIRED
// (proctest.EnvRequired) is set to a non-empty value: then it fails, so that
// CI never counts a skipped test as a pass.
package integration
