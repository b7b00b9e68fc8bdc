//go:build soak

package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// TestSoak runs the short soak of CI for every strategy whose part runs in
// process (static; headless over the loopback DNS server; xds over the
// fake istiod; sidecar over the sidecar stand-in), and against an external
// core: every fault kind the run can have, once, and asserts the three
// counts and the failed calls outside fault windows are zero. Run it with
// -parallel 5 or more, so that the five run at once.
func TestSoak(t *testing.T) {
	for _, s := range []string{"static", "headless", "xds", "sidecar"} {
		t.Run(s, func(t *testing.T) {
			t.Parallel()
			shortSoak(t, s, nil)
		})
	}
	t.Run("external", func(t *testing.T) {
		t.Parallel()
		testSoakExternal(t)
	})
}

// testSoakExternal runs the soak against an Open-Match it cannot look
// into (an in-memory core in another role here, reached only over gRPC):
// the match function replicas share one port, their faults are the only
// ones, and every count is the clients'.
func testSoakExternal(t *testing.T) {
	port, err := freePort("127.0.0.1")
	require.NoError(t, err)
	om, err := omtest.Start(omtest.Config{
		FrontendAddr: "127.0.0.1:0", BackendAddr: "127.0.0.1:0", QueryAddr: "127.0.0.1:0",
		RegistrationInterval: omtest.HelmRegistrationInterval,
		Dialer: func(target string) (grpc.ClientConnInterface, io.Closer, error) {
			cc, err := omclient.NewConn(target, omclient.WithStrategy(balancer.Static{Addrs: []string{target}}))
			return cc, cc, err
		},
	})
	require.NoError(t, err)
	defer om.Close()
	sum := shortSoak(t, "static", func(c *config) {
		c.frontend, c.backend, c.query = om.FrontendAddr(), om.BackendAddr(), om.QueryAddr()
		c.mmfHost, c.mmfPort = "127.0.0.1", port
	})
	assert.Contains(t, sum, "counts: client-side only")
	assert.NotContains(t, sum, "core records (server side)")
}
