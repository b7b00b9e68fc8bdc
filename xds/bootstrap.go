package xds

import (
	"fmt"

	"google.golang.org/grpc/resolver"
	grpcbootstrap "google.golang.org/grpc/xds/bootstrap"

	"github.com/meshmatch/meshmatch/internal/xdsbootstrap"
)

// source says where a strategy's bootstrap comes from.
type source struct {
	// what names the source in reasons and errors.
	what string
	// json is the bootstrap when it is known without reading a file.
	json []byte
	// path is the bootstrap file to read when json is nil.
	path string
	// compose is set when the bootstrap is composed for istiod.
	compose bool
}

// source picks the bootstrap source in grpc-go's order of precedence: an
// explicit bootstrap, then GRPC_XDS_BOOTSTRAP, then GRPC_XDS_BOOTSTRAP_CONFIG,
// then a bootstrap composed for istiod.
func (s Strategy) source() source {
	switch {
	case len(s.Bootstrap) > 0:
		return source{what: "explicit bootstrap", json: s.Bootstrap}
	case s.env(xdsbootstrap.EnvFile) != "":
		path := s.env(xdsbootstrap.EnvFile)
		return source{what: xdsbootstrap.EnvFile + "=" + path, path: path}
	case s.env(xdsbootstrap.EnvConfig) != "":
		return source{what: xdsbootstrap.EnvConfig, json: []byte(s.env(xdsbootstrap.EnvConfig))}
	default:
		return source{what: "istiod at " + s.istiodAddr(), compose: true}
	}
}

// envIstioVersion, when set, is the ISTIO_VERSION a composed bootstrap
// reports to istiod.
const envIstioVersion = "ISTIO_VERSION"

// compose returns a bootstrap for istiod built from the pod's identity.
func (s Strategy) compose() ([]byte, error) {
	id := xdsbootstrap.Source{Env: s.Env}.Identity()
	return xdsbootstrap.Compose(xdsbootstrap.Config{
		ServerURI:    s.istiodAddr(),
		Identity:     id,
		CertDir:      s.CertDir,
		IstioVersion: s.env(envIstioVersion),
	})
}

// resolverBuilder returns the resolver for one connection. A bootstrap that
// is known now is checked now; a bootstrap file that is not there yet is
// waited for by the resolver, in the background.
func (s Strategy) resolverBuilder() (resolver.Builder, error) {
	src := s.source()
	log := s.logger()
	switch {
	case src.compose:
		b, err := s.compose()
		if err != nil {
			return nil, err
		}
		log.Debug("xds: composed bootstrap", "istiod", s.istiodAddr(), "bootstrap", string(b))
		return newXDSResolverBuilder(b)
	case src.json != nil:
		if err := validate(src.json); err != nil {
			return nil, fmt.Errorf("%s: %w", src.what, err)
		}
		log.Debug("xds: using bootstrap", "source", src.what)
		return newXDSResolverBuilder(src.json)
	}
	if b, err := xdsbootstrap.ReadFile(src.path); err == nil {
		if err := validate(b); err != nil {
			return nil, fmt.Errorf("%s: %w", src.what, err)
		}
		log.Debug("xds: using bootstrap", "source", src.what)
		return newXDSResolverBuilder(b)
	}
	log.Debug("xds: bootstrap file not ready, waiting in the resolver", "source", src.what, "wait", s.bootstrapWait())
	return &waitingBuilder{path: src.path, wait: s.bootstrapWait()}, nil
}

// validate checks b as grpc-go will: well formed, with xDS servers, and with
// channel credentials grpc-go supports for each of them.
func validate(b []byte) error {
	if err := xdsbootstrap.Validate(b); err != nil {
		return err
	}
	return xdsbootstrap.CheckCreds(b, func(name string) bool {
		return grpcbootstrap.GetChannelCredentials(name) != nil
	})
}
