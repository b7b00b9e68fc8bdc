// Package auto is the machinery behind balancer.Auto: a supervisor goroutine
// per connection that detects the strategies of a chain, dials them, gives
// each a gate to reach READY, moves calls down when the one in use fails and
// back up when a higher one has been READY for a stable period, re-dials
// higher strategies that stay down, and closes the ones no longer in use.
//
// The supervisor goroutine owns all of a connection's state. Calls read an
// immutable snapshot it publishes; nothing else is shared.
package auto
