package endpointslice_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/omclient"
)

// TestJoinsOmclientChain: importing the package puts the strategy between
// xds and headless in omclient's default chain, and MESHMATCH_STRATEGY can
// name it.
func TestJoinsOmclientChain(t *testing.T) {
	c, err := omclient.NewConn("open-match-frontend.open-match.svc.cluster.local:50504")
	require.NoError(t, err, "NewConn()")
	defer c.Close()
	var names []string
	for _, d := range c.Decision().Detections {
		names = append(names, d.Strategy)
	}
	assert.Equal(t, []string{"sidecar", "xds", "endpointslice", "headless"}, names, "default chain")

	t.Setenv("MESHMATCH_STRATEGY", "endpointslice")
	f, err := omclient.NewConn("open-match-frontend.open-match.svc.cluster.local:50504")
	require.NoError(t, err, "NewConn() with MESHMATCH_STRATEGY=endpointslice")
	defer f.Close()
	assert.Equal(t, "endpointslice", f.Decision().Strategy, "Decision().Strategy")
}

// TestDetectWithoutCluster: outside a pod, with no explicit configuration,
// Detect says why without any request.
func TestDetectWithoutCluster(t *testing.T) {
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		s    endpointslice.Strategy
		addr string
		want string
	}{
		{name: "not in a pod", s: endpointslice.Strategy{}, addr: "om.open-match:50504", want: "KUBERNETES_SERVICE_HOST"},
		{name: "invalid addr", s: endpointslice.Strategy{}, addr: "om.open-match", want: "invalid address"},
		{name: "http URL", s: endpointslice.Strategy{APIServer: "http://127.0.0.1:6443"}, addr: "om.open-match:50504", want: "want an https:// URL"},
		{name: "no token", s: endpointslice.Strategy{APIServer: "https://127.0.0.1:1", TokenFile: filepath.Join(dir, "token")},
			addr: "om.open-match:50504", want: "read service account token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.s.Detect(context.Background(), tc.addr)
			assert.False(t, d.Available, "Detect(%q).Available", tc.addr)
			assert.Equal(t, "endpointslice", d.Strategy, "Detect().Strategy")
			assert.True(t, strings.HasPrefix(d.Reason, "endpointslice: ") && strings.Contains(d.Reason, tc.want),
				"Detect(%q).Reason = %q, want it to hold %q", tc.addr, d.Reason, tc.want)
		})
	}
}

func TestDialRejectsInvalidAddr(t *testing.T) {
	for _, addr := range []string{"", "om", "om:Grpc", "om:grpc--web", "om:0", "om.ns.cluster.local:80", "Om:80", "om.ns:99999"} {
		conn, err := (&endpointslice.Strategy{}).Dial(addr)
		if err == nil {
			conn.Close()
			t.Errorf("Dial(%q) = nil error, want an invalid address error", addr)
			continue
		}
		assert.True(t, strings.HasPrefix(err.Error(), "endpointslice: "), "Dial(%q) = %v, want the endpointslice: prefix", addr, err)
	}
}
