//go:build istiod

package istiod

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Service is one ServiceEntry: a gRPC service istiod serves to clients
// under Host:Port, with static endpoints.
type Service struct {
	// Name is the ServiceEntry's name (a DNS label) and its file's name.
	Name string
	// Namespace is the ServiceEntry's namespace. Default "open-match".
	Namespace string
	// Host is the service's fully qualified name, such as
	// "open-match-frontend.open-match.svc.cluster.local"; istiod serves no
	// listener for a short name.
	Host string
	// Port is the service port, named "grpc" with protocol GRPC.
	Port int
	// Endpoints are the addresses behind the service: "ip" (served on Port)
	// or "ip:port".
	Endpoints []string
}

// Addr returns "Host:Port", the address a client dials.
func (svc Service) Addr() string { return net.JoinHostPort(svc.Host, strconv.Itoa(svc.Port)) }

var labelRE = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// yaml returns the ServiceEntry, or an error for a field istiod would
// reject or that would make a file the tests cannot mean.
func (svc Service) yaml() (string, error) {
	ns := svc.Namespace
	if ns == "" {
		ns = "open-match"
	}
	switch {
	case !labelRE.MatchString(svc.Name) || len(svc.Name) > 63:
		return "", fmt.Errorf("istiod: service name %q is not a DNS label", svc.Name)
	case !labelRE.MatchString(ns):
		return "", fmt.Errorf("istiod: service %s: namespace %q is not a DNS label", svc.Name, ns)
	case strings.Count(svc.Host, ".") < 2 || strings.ContainsAny(svc.Host, " :[]{},\n"):
		return "", fmt.Errorf("istiod: service %s: host %q is not a fully qualified name", svc.Name, svc.Host)
	case svc.Port < 1 || svc.Port > 65535:
		return "", fmt.Errorf("istiod: service %s: bad port %d", svc.Name, svc.Port)
	}
	eps, err := endpointsYAML(svc.Endpoints)
	if err != nil {
		return "", fmt.Errorf("istiod: service %s: %w", svc.Name, err)
	}
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: %s, namespace: %s}
spec:
  hosts: [%s]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: %d, name: grpc, protocol: GRPC}]
  endpoints: [%s]
`, svc.Name, ns, svc.Host, svc.Port, eps), nil
}

// endpointsYAML renders "ip" or "ip:port" endpoints as a flow sequence.
func endpointsYAML(addrs []string) (string, error) {
	out := make([]string, 0, len(addrs))
	for _, a := range addrs {
		host, port, err := net.SplitHostPort(a)
		if err != nil {
			host, port = a, ""
		}
		if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
			return "", fmt.Errorf("endpoint %q is not a loopback address", a)
		}
		if port == "" {
			out = append(out, fmt.Sprintf("{address: %s}", host))
			continue
		}
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return "", fmt.Errorf("endpoint %q: bad port", a)
		}
		out = append(out, fmt.Sprintf("{address: %s, ports: {grpc: %s}}", host, port))
	}
	return strings.Join(out, ", "), nil
}

// SetService writes svc's ServiceEntry file, replacing an earlier one of the
// same name. istiod notices the change and pushes it to connected clients
// (in about a second). The file appears whole: it is written under a name
// istiod ignores and then renamed.
func (s *Server) SetService(svc Service) error {
	y, err := svc.yaml()
	if err != nil {
		return err
	}
	tmp := filepath.Join(s.configDir(), "."+svc.Name+".tmp")
	if err := os.WriteFile(tmp, []byte(y), 0o600); err != nil {
		return fmt.Errorf("istiod: set service %s: %w", svc.Name, err)
	}
	if err := os.Rename(tmp, filepath.Join(s.configDir(), svc.Name+".yaml")); err != nil {
		return fmt.Errorf("istiod: set service %s: %w", svc.Name, err)
	}
	return nil
}

// RemoveService deletes the ServiceEntry file named name.
func (s *Server) RemoveService(name string) error {
	if !labelRE.MatchString(name) {
		return fmt.Errorf("istiod: remove service: name %q is not a DNS label", name)
	}
	if err := os.Remove(filepath.Join(s.configDir(), name+".yaml")); err != nil {
		return fmt.Errorf("istiod: remove service %s: %w", name, err)
	}
	return nil
}
