// Package faulttest injects network faults between a gRPC client and its
// servers in tests: a TCP proxy on loopback that can be killed and restarted
// on the same address, cut its connections, or accept connections and never
// answer (a black hole), and a listener wrapper that watches the HTTP/2
// frames a server exchanges with its clients (pings and GOAWAYs).
//
// Everything listens on loopback only. Use it with the fakes in
// testing/omtest, testing/dnstest, testing/xdstest and testing/istiotest to
// check how a connection behaves when a pod dies, hangs or misbehaves.
// Importing the package registers nothing.
package faulttest
