package xdstest_test

//lint:file-ignore SA1019 the fake sets the deprecated fields on purpose (see tls.go), and the tests check them.

import (
	"encoding/json"
	"testing"

	clusterpb "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	tlspb "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
	"github.com/meshmatch/meshmatch/testing/xdstest"
)

// upstreamTLS fetches the service's cluster and returns its TLS context, or
// nil when the cluster is plaintext.
func upstreamTLS(t *testing.T, srv *xdstest.Server) *tlspb.UpstreamTlsContext {
	t.Helper()
	a := newADS(t, srv.Addr(), "tls-node")
	c := one(t, a.fetch(t, resource.ClusterType, nil, xdstest.ClusterName(host, port)), &clusterpb.Cluster{})
	ts := c.GetTransportSocket()
	if ts == nil {
		return nil
	}
	assert.Equal(t, wellknown.TransportSocketTLS, ts.GetName(), "transport socket name")
	ctx := &tlspb.UpstreamTlsContext{}
	require.NoError(t, ts.GetTypedConfig().UnmarshalTo(ctx))
	return ctx
}

func TestSetTLS(t *testing.T) {
	tests := []struct {
		name         string
		tls          *xdstest.TLS
		wantIdentity bool
		wantSANs     []string
	}{
		{name: "mutual tls", tls: &xdstest.TLS{}, wantIdentity: true},
		{name: "server only with SANs", tls: &xdstest.TLS{ServerOnly: true, SANs: []string{"spiffe://cluster.local/ns/open-match/sa/frontend"}}, wantSANs: []string{"spiffe://cluster.local/ns/open-match/sa/frontend"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := xdstest.NewServer(t)
			require.NoError(t, srv.SetTLS(host, port, tc.tls), "SetTLS before SetEndpoints")
			require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.1"))
			common := upstreamTLS(t, srv).GetCommonTlsContext()
			require.NotNil(t, common, "UpstreamTlsContext.CommonTlsContext")

			combined := common.GetCombinedValidationContext()
			root := combined.GetDefaultValidationContext().GetCaCertificateProviderInstance()
			assert.Equal(t, xdstest.CertProviderInstance, root.GetInstanceName())
			assert.Equal(t, xdstest.RootCertName, root.GetCertificateName())
			oldRoot := combined.GetValidationContextCertificateProviderInstance()
			assert.Equal(t, xdstest.CertProviderInstance, oldRoot.GetInstanceName())
			assert.Equal(t, xdstest.RootCertName, oldRoot.GetCertificateName())
			var sans []string
			for _, m := range combined.GetDefaultValidationContext().GetMatchSubjectAltNames() {
				sans = append(sans, m.GetExact())
			}
			assert.Equal(t, tc.wantSANs, sans, "SAN matchers")

			id, oldID := common.GetTlsCertificateProviderInstance(), common.GetTlsCertificateCertificateProviderInstance()
			if !tc.wantIdentity {
				assert.Nil(t, id, "identity provider with ServerOnly")
				assert.Nil(t, oldID, "deprecated identity provider with ServerOnly")
				return
			}
			assert.Equal(t, xdstest.CertProviderInstance, id.GetInstanceName())
			assert.Equal(t, xdstest.IdentityCertName, id.GetCertificateName())
			assert.Equal(t, xdstest.CertProviderInstance, oldID.GetInstanceName())
		})
	}
}

func TestSetTLSOffAndRemove(t *testing.T) {
	srv := xdstest.NewServer(t)
	require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.1"))
	assert.Nil(t, upstreamTLS(t, srv), "TLS context before SetTLS")
	require.NoError(t, srv.SetTLS(host, port, &xdstest.TLS{}))
	require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.2"))
	assert.NotNil(t, upstreamTLS(t, srv), "TLS context kept across SetEndpoints")
	require.NoError(t, srv.SetTLS(host, port, nil))
	assert.Nil(t, upstreamTLS(t, srv), "TLS context after SetTLS(nil)")
	require.NoError(t, srv.SetTLS(host, port, &xdstest.TLS{}))
	require.NoError(t, srv.RemoveService(host, port))
	require.NoError(t, srv.SetEndpoints(host, port, "127.0.0.1"))
	assert.Nil(t, upstreamTLS(t, srv), "TLS context after RemoveService")
	assert.Error(t, srv.SetTLS("", port, &xdstest.TLS{}), "SetTLS without host")
}

func TestBootstrapWithCerts(t *testing.T) {
	srv := xdstest.NewServer(t)
	b := srv.BootstrapWithCerts("n", xdstest.CertFiles{CertFile: "/c/cert.pem", KeyFile: "/c/key.pem", CAFile: "/c/ca.pem"})
	require.NoError(t, xdsbootstrap.Validate(b))
	var got struct {
		CertificateProviders map[string]struct {
			PluginName string            `json:"plugin_name"`
			Config     map[string]string `json:"config"`
		} `json:"certificate_providers"`
	}
	require.NoError(t, json.Unmarshal(b, &got))
	p, ok := got.CertificateProviders[xdstest.CertProviderInstance]
	require.True(t, ok, "certificate_providers[%q] missing in %s", xdstest.CertProviderInstance, b)
	assert.Equal(t, "file_watcher", p.PluginName)
	assert.Equal(t, map[string]string{
		"certificate_file":    "/c/cert.pem",
		"private_key_file":    "/c/key.pem",
		"ca_certificate_file": "/c/ca.pem",
		"refresh_interval":    "600s",
	}, p.Config)
	assert.NotContains(t, string(srv.Bootstrap("n")), "certificate_providers")
}
