package xdstest

//lint:file-ignore SA1019 istiod fills the deprecated certificate-provider and SAN fields next to the current ones for older gRPC clients, and so does this fake.

import (
	"fmt"

	clusterpb "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corepb "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	tlspb "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	matcherpb "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	"github.com/envoyproxy/go-control-plane/pkg/wellknown"
	"google.golang.org/protobuf/types/known/anypb"
)

// CertProviderInstance is the certificate provider instance a TLS cluster
// names, as istiod does: a client's bootstrap must define a certificate
// provider by this name (Istio's agent writes a file_watcher provider).
const CertProviderInstance = "default"

// Certificate names istiod asks the certificate provider for. grpc-go's
// file_watcher provider ignores them.
const (
	IdentityCertName = "default"
	RootCertName     = "ROOTCA"
)

// TLS is the transport security a service's cluster asks clients to use.
// The zero value is what istiod sends proxyless gRPC clients under mutual
// TLS: verify the server against the provider's root certificates and
// present the provider's identity certificate.
type TLS struct {
	// ServerOnly leaves the identity certificate out, so that clients do TLS
	// without presenting a certificate of their own.
	ServerOnly bool
	// SANs, when not empty, are the subject alternative names (SPIFFE ids,
	// DNS names or IPs, matched exactly) of which the server's certificate
	// must hold one. When empty, clients check the certificate chain only.
	SANs []string
}

// SetTLS makes clients reach host:port over TLS as tls describes, or over
// plaintext when tls is nil, and pushes a new snapshot version. It applies
// whether the service's endpoints are set before or after.
func (s *Server) SetTLS(host string, port int, tls *TLS) error {
	if host == "" || port < 1 || port > 65535 {
		return fmt.Errorf("xdstest: set tls: bad service %q port %d", host, port)
	}
	name := ListenerName(host, port)
	s.mu.Lock()
	if tls == nil {
		delete(s.tls, name)
	} else {
		c := *tls
		c.SANs = append([]string(nil), tls.SANs...)
		s.tls[name] = c
	}
	s.mu.Unlock()
	return s.publish()
}

// transportSocket returns the cluster transport socket istiod sends for
// tls: an UpstreamTlsContext that takes its certificates from the
// CertProviderInstance provider. Like istiod it sets both the current
// certificate provider fields and the deprecated ones older gRPC clients
// read; grpc-go uses the current ones when they are complete.
func (tls TLS) transportSocket() (*corepb.TransportSocket, error) {
	var sans []*matcherpb.StringMatcher
	for _, san := range tls.SANs {
		sans = append(sans, &matcherpb.StringMatcher{MatchPattern: &matcherpb.StringMatcher_Exact{Exact: san}})
	}
	common := &tlspb.CommonTlsContext{
		ValidationContextType: &tlspb.CommonTlsContext_CombinedValidationContext{
			CombinedValidationContext: &tlspb.CommonTlsContext_CombinedCertificateValidationContext{
				DefaultValidationContext: &tlspb.CertificateValidationContext{
					CaCertificateProviderInstance: &tlspb.CertificateProviderPluginInstance{
						InstanceName:    CertProviderInstance,
						CertificateName: RootCertName,
					},
					MatchSubjectAltNames: sans,
				},
				ValidationContextCertificateProviderInstance: &tlspb.CommonTlsContext_CertificateProviderInstance{
					InstanceName:    CertProviderInstance,
					CertificateName: RootCertName,
				},
			},
		},
	}
	if !tls.ServerOnly {
		common.TlsCertificateProviderInstance = &tlspb.CertificateProviderPluginInstance{
			InstanceName:    CertProviderInstance,
			CertificateName: IdentityCertName,
		}
		common.TlsCertificateCertificateProviderInstance = &tlspb.CommonTlsContext_CertificateProviderInstance{
			InstanceName:    CertProviderInstance,
			CertificateName: IdentityCertName,
		}
	}
	cfg, err := anypb.New(&tlspb.UpstreamTlsContext{CommonTlsContext: common})
	if err != nil {
		return nil, fmt.Errorf("xdstest: tls context: %w", err)
	}
	return &corepb.TransportSocket{
		Name:       wellknown.TransportSocketTLS,
		ConfigType: &corepb.TransportSocket_TypedConfig{TypedConfig: cfg},
	}, nil
}

// withTLS returns c with the transport socket for tls.
func withTLS(c *clusterpb.Cluster, tls TLS) (*clusterpb.Cluster, error) {
	ts, err := tls.transportSocket()
	if err != nil {
		return nil, err
	}
	c.TransportSocket = ts
	return c, nil
}
