// Package xdsbootstrap reads, validates and composes the JSON bootstrap that
// grpc-go's xDS client needs, and works out the pod identity that istiod
// expects to find in it. It imports nothing from grpc-go so that it can be
// tested, and used, without linking the xDS client.
package xdsbootstrap

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
)

// DefaultNamespaceFile is where Kubernetes mounts the pod's namespace.
const DefaultNamespaceFile = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"

// Identity is what istiod needs to know about the pod a client runs in.
type Identity struct {
	// PodName is the pod's name (POD_NAME, else the hostname).
	PodName string
	// Namespace is the pod's namespace (POD_NAMESPACE, else the
	// service-account namespace file, else "default").
	Namespace string
	// IPs are the pod's addresses: INSTANCE_IP alone when it is set (the
	// pod IP from the downward API, as Istio's agent reports it), else the
	// interface addresses with loopback and link-local excluded, IPv4 first.
	IPs []string
}

// IP returns the primary address, or "127.0.0.1" when none is known so that
// the node id keeps its shape.
func (id Identity) IP() string {
	if len(id.IPs) == 0 {
		return "127.0.0.1"
	}
	return id.IPs[0]
}

// Check reports whether id can make a node id istiod parses: PodName a
// DNS-1123 subdomain, Namespace a DNS-1123 label and every IP an IP
// address without a zone. Values from the downward-API variables are taken
// as given, so a bad one is reported here rather than hidden.
func (id Identity) Check() error {
	if err := checkSubdomain(id.PodName); err != nil {
		return fmt.Errorf("pod name: %w", err)
	}
	if err := checkLabel(id.Namespace); err != nil {
		return fmt.Errorf("namespace: %w", err)
	}
	for _, ip := range id.IPs {
		a, err := netip.ParseAddr(ip)
		if err != nil || a.Zone() != "" {
			return fmt.Errorf("pod ip %q is not an IP address without a zone", ip)
		}
	}
	return nil
}

// Source is where pod identity is read from. The zero value reads the real
// process environment, files, hostname and interfaces.
type Source struct {
	// Env looks up an environment variable; nil means os.Getenv.
	Env func(string) string
	// NamespaceFile is the service-account namespace file; "" means
	// DefaultNamespaceFile.
	NamespaceFile string
	// Hostname returns the host name; nil means os.Hostname.
	Hostname func() (string, error)
	// InterfaceAddrs lists interface addresses; nil means net.InterfaceAddrs.
	InterfaceAddrs func() ([]net.Addr, error)
}

// Identity works the pod identity out from s, falling back from the
// downward-API variables to files, the hostname and interface addresses.
func (s Source) Identity() Identity {
	return Identity{
		PodName:   s.podName(),
		Namespace: s.namespace(),
		IPs:       s.ips(),
	}
}

func (s Source) env(key string) string {
	if s.Env == nil {
		return strings.TrimSpace(os.Getenv(key))
	}
	return strings.TrimSpace(s.Env(key))
}

func (s Source) podName() string {
	if name := s.env("POD_NAME"); name != "" {
		return name
	}
	hostname := s.Hostname
	if hostname == nil {
		hostname = os.Hostname
	}
	// A pod's hostname is its name (or a label set in its spec); elsewhere
	// it may be any host name, which is lowered and used if it still names
	// a pod validly.
	if name, err := hostname(); err == nil {
		if name = strings.ToLower(strings.TrimSpace(name)); checkSubdomain(name) == nil {
			return name
		}
	}
	return "unknown"
}

func (s Source) namespace() string {
	if ns := s.env("POD_NAMESPACE"); ns != "" {
		return ns
	}
	path := s.NamespaceFile
	if path == "" {
		path = DefaultNamespaceFile
	}
	if b, err := os.ReadFile(path); err == nil {
		if ns := strings.TrimSpace(string(b)); checkLabel(ns) == nil {
			return ns
		}
	}
	return "default"
}

func (s Source) ips() []string {
	if ip := s.env("INSTANCE_IP"); ip != "" {
		return []string{ip}
	}
	addrs := s.InterfaceAddrs
	if addrs == nil {
		addrs = net.InterfaceAddrs
	}
	list, err := addrs()
	if err != nil {
		return nil
	}
	var v4, v6 []string
	for _, a := range list {
		ip := addrIP(a)
		if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() {
			continue
		}
		if ip.To4() != nil {
			v4 = append(v4, ip.String())
		} else {
			v6 = append(v6, ip.String())
		}
	}
	return append(v4, v6...)
}

func addrIP(a net.Addr) net.IP {
	switch v := a.(type) {
	case *net.IPNet:
		return v.IP
	case *net.IPAddr:
		return v.IP
	}
	return nil
}
