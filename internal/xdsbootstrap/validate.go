package xdsbootstrap

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// file is the subset of grpc-go's bootstrap format that is composed and
// checked here. Unknown fields are kept by grpc-go and ignored here.
type file struct {
	XDSServers                         []server            `json:"xds_servers"`
	Node                               *node               `json:"node,omitempty"`
	CertificateProviders               map[string]provider `json:"certificate_providers,omitempty"`
	ServerListenerResourceNameTemplate string              `json:"server_listener_resource_name_template,omitempty"`
}

type server struct {
	ServerURI      string   `json:"server_uri"`
	ChannelCreds   []creds  `json:"channel_creds"`
	ServerFeatures []string `json:"server_features,omitempty"`
}

type creds struct {
	Type   string          `json:"type"`
	Config json.RawMessage `json:"config,omitempty"`
}

type node struct {
	ID       string            `json:"id"`
	Metadata map[string]string `json:"metadata,omitempty"`
}

type provider struct {
	PluginName string          `json:"plugin_name"`
	Config     json.RawMessage `json:"config,omitempty"`
}

// ErrNoServers reports a bootstrap without any xDS server.
var ErrNoServers = errors.New("xdsbootstrap: no xds_servers")

// Validate checks that b is a bootstrap grpc-go can use: a JSON object with
// at least one xDS server, each with a server_uri and channel credentials, and
// certificate providers that name a plugin. It checks before grpc-go does so
// that a bad bootstrap is reported when the connection is made rather than on
// the first call.
func Validate(b []byte) error {
	if len(bytes.TrimSpace(b)) == 0 {
		return errors.New("xdsbootstrap: empty bootstrap")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return fmt.Errorf("xdsbootstrap: malformed bootstrap json: %w", err)
	}
	var f struct {
		XDSServers           []json.RawMessage          `json:"xds_servers"`
		Node                 json.RawMessage            `json:"node"`
		CertificateProviders map[string]json.RawMessage `json:"certificate_providers"`
		// Typed as grpc-go reads them, so that a wrong type fails here.
		ClientTemplate string                     `json:"client_default_listener_resource_name_template"`
		ServerTemplate string                     `json:"server_listener_resource_name_template"`
		Authorities    map[string]json.RawMessage `json:"authorities"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("xdsbootstrap: bootstrap: %w", err)
	}
	if len(f.XDSServers) == 0 {
		return ErrNoServers
	}
	for i, s := range f.XDSServers {
		if err := validateServer(s); err != nil {
			return fmt.Errorf("xdsbootstrap: xds_servers[%d]: %w", i, err)
		}
	}
	if err := validateNode(f.Node); err != nil {
		return fmt.Errorf("xdsbootstrap: node: %w", err)
	}
	for name, p := range f.CertificateProviders {
		if err := validateProvider(p); err != nil {
			return fmt.Errorf("xdsbootstrap: certificate_providers[%q]: %w", name, err)
		}
	}
	for name, a := range f.Authorities {
		if err := validateAuthority(a); err != nil {
			return fmt.Errorf("xdsbootstrap: authorities[%q]: %w", name, err)
		}
	}
	return nil
}

func validateAuthority(b json.RawMessage) error {
	var a struct {
		Template   string            `json:"client_listener_resource_name_template"`
		XDSServers []json.RawMessage `json:"xds_servers"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return err
	}
	for i, s := range a.XDSServers {
		if err := validateServer(s); err != nil {
			return fmt.Errorf("xds_servers[%d]: %w", i, err)
		}
	}
	return nil
}

func validateServer(b json.RawMessage) error {
	var s server
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if strings.TrimSpace(s.ServerURI) == "" {
		return errors.New("missing server_uri")
	}
	if len(s.ChannelCreds) == 0 {
		return errors.New("missing channel_creds")
	}
	for i, c := range s.ChannelCreds {
		if c.Type == "" {
			return fmt.Errorf("channel_creds[%d]: missing type", i)
		}
	}
	return nil
}

func validateNode(b json.RawMessage) error {
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	var n struct {
		ID       *string        `json:"id"`
		Metadata map[string]any `json:"metadata"`
	}
	return json.Unmarshal(b, &n)
}

func validateProvider(b json.RawMessage) error {
	var p provider
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	if p.PluginName == "" {
		return errors.New("missing plugin_name")
	}
	return nil
}

// ServerURI returns the server_uri of the first xDS server of b, or "" when
// b has none.
func ServerURI(b []byte) string {
	var f struct {
		XDSServers []server `json:"xds_servers"`
	}
	if json.Unmarshal(b, &f) != nil || len(f.XDSServers) == 0 {
		return ""
	}
	return f.XDSServers[0].ServerURI
}

// CheckCreds reports an error unless every xDS server of the valid bootstrap
// b names at least one channel credential type for which supported is true.
// grpc-go uses the first supported type and fails the connection when there
// is none.
func CheckCreds(b []byte, supported func(string) bool) error {
	// Only the servers: the node metadata of a valid bootstrap may hold any
	// JSON value, which the composing type (string values only) would reject.
	var f struct {
		XDSServers []server `json:"xds_servers"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("xdsbootstrap: malformed bootstrap json: %w", err)
	}
	for i, s := range f.XDSServers {
		if !slices.ContainsFunc(s.ChannelCreds, func(c creds) bool { return supported(c.Type) }) {
			return fmt.Errorf("xdsbootstrap: xds_servers[%d]: no supported channel_creds type in %v", i, credTypes(s.ChannelCreds))
		}
	}
	return nil
}

// CheckProviders reports the first error parse returns for the plugin name
// and config of a certificate provider of the valid bootstrap b. grpc-go
// parses each config with its plugin when it reads the bootstrap and fails
// the connection on an error.
func CheckProviders(b []byte, parse func(plugin string, config json.RawMessage) error) error {
	var f struct {
		CertificateProviders map[string]provider `json:"certificate_providers"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return fmt.Errorf("xdsbootstrap: malformed bootstrap json: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(f.CertificateProviders)) {
		p := f.CertificateProviders[name]
		if err := parse(p.PluginName, p.Config); err != nil {
			return fmt.Errorf("xdsbootstrap: certificate_providers[%q]: %w", name, err)
		}
	}
	return nil
}

func credTypes(cs []creds) []string {
	types := make([]string, len(cs))
	for i, c := range cs {
		types[i] = c.Type
	}
	return types
}
