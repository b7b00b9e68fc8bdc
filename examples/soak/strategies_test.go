//go:build soak

package main

import "testing"

// TestSoak runs the short soak of CI for every strategy whose part runs in
// process (static; headless over the loopback DNS server; xds over the
// fake istiod; sidecar over the sidecar stand-in): every fault kind the
// strategy can have, once, and asserts the three counts and the failed
// calls outside fault windows are zero.
func TestSoak(t *testing.T) {
	for _, s := range []string{"static", "headless", "xds", "sidecar"} {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			shortSoak(t, s, nil)
		})
	}
}
