package xds

import (
	"encoding/json"
	"fmt"

	"google.golang.org/grpc/credentials/tls/certprovider"
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

// resolverBuilder returns the resolver for one connection. A bootstrap
// known now is checked now. A bootstrap file is read by the resolver each
// time grpc-go builds it, in the background, so a file the Istio agent
// writes or rewrites later is used; only a file whose directory does not
// exist, which no agent is about to write, fails at once.
func (s Strategy) resolverBuilder(t *tracker) (resolver.Builder, error) {
	src := s.source()
	log := s.logger()
	b := &builder{what: src.what, track: t}
	switch {
	case src.compose:
		json, err := s.compose()
		if err != nil {
			return nil, err
		}
		log.Debug("xds: composed bootstrap", "istiod", s.istiodAddr(), "bootstrap", string(json))
		b.json = json
	case src.json != nil:
		if err := validate(src.json); err != nil {
			return nil, fmt.Errorf("%s: %w", src.what, err)
		}
		log.Debug("xds: using bootstrap", "source", src.what)
		b.json = src.json
	default:
		if err := xdsbootstrap.CheckDir(src.path); err != nil {
			return nil, fmt.Errorf("%s: %w", src.what, err)
		}
		log.Debug("xds: bootstrap file read by the resolver", "source", src.what, "wait", s.bootstrapWait())
		b.path, b.wait = src.path, s.bootstrapWait()
	}
	return b, nil
}

// validate checks b as grpc-go will: well formed, with xDS servers, with
// channel credentials grpc-go supports for each of them, and with
// certificate provider configs their plugins accept.
func validate(b []byte) error {
	if err := xdsbootstrap.Validate(b); err != nil {
		return err
	}
	if err := xdsbootstrap.CheckCreds(b, func(name string) bool {
		return grpcbootstrap.GetChannelCredentials(name) != nil
	}); err != nil {
		return err
	}
	return xdsbootstrap.CheckProviders(b, parseProvider)
}

// parseProvider parses config as grpc-go does when it reads a bootstrap,
// for file_watcher, the certificate provider plugin grpc-go's xDS package
// registers and Istio's agent writes. grpc-go skips plugins it does not
// know, and so does this.
func parseProvider(plugin string, config json.RawMessage) error {
	if plugin != "file_watcher" {
		return nil
	}
	if _, err := certprovider.ParseConfig(plugin, config); err != nil {
		return fmt.Errorf("plugin %q: %w", plugin, err)
	}
	return nil
}
