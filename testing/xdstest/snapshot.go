package xdstest

import (
	"fmt"
	"maps"
	"net"
	"slices"
	"strconv"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	"github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"github.com/envoyproxy/go-control-plane/pkg/resource/v3"
)

// SetEndpoints makes host:port resolve to addrs and pushes a new snapshot
// version to connected clients. An address without a port gets port. With no
// addrs the service stays configured with no endpoints.
func (s *Server) SetEndpoints(host string, port int, addrs ...string) error {
	if host == "" || port < 1 || port > 65535 {
		return fmt.Errorf("xdstest: set endpoints: bad service %q port %d", host, port)
	}
	svc := service{host: host, port: port}
	for _, a := range addrs {
		if _, _, err := net.SplitHostPort(a); err != nil {
			a = net.JoinHostPort(a, strconv.Itoa(port))
		}
		svc.addrs = append(svc.addrs, a)
	}
	if _, err := svc.resources(nil); err != nil {
		return err
	}
	s.mu.Lock()
	s.services[ListenerName(host, port)] = svc
	s.mu.Unlock()
	return s.publish()
}

// RemoveService stops serving host:port, forgets its TLS setting and pushes
// a new snapshot version.
func (s *Server) RemoveService(host string, port int) error {
	s.mu.Lock()
	delete(s.services, ListenerName(host, port))
	delete(s.tls, ListenerName(host, port))
	s.mu.Unlock()
	return s.publish()
}

// Version returns the current snapshot version.
func (s *Server) Version() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strconv.Itoa(s.version)
}

// Resources returns a copy of what the server sends for host:port, TLS
// included, and whether it serves that service at all.
func (s *Server) Resources(host string, port int) (Resources, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, err := s.resourcesLocked(ListenerName(host, port))
	if err != nil {
		return Resources{}, false
	}
	return r.clone(), true
}

// resourcesLocked builds the resources of the service keyed by name.
func (s *Server) resourcesLocked(name string) (Resources, error) {
	svc, ok := s.services[name]
	if !ok {
		return Resources{}, fmt.Errorf("xdstest: no service %s", name)
	}
	r, err := svc.resources(s.opts.retry)
	if err != nil {
		return Resources{}, err
	}
	if tls, ok := s.tls[name]; ok {
		if r.Cluster, err = withTLS(r.Cluster, tls); err != nil {
			return Resources{}, err
		}
	}
	return r, nil
}

// publish builds a snapshot of every service under a new version and sets
// it for all nodes. It holds s.mu so versions are set in order.
func (s *Server) publish() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	byType := map[resource.Type][]types.Resource{
		resource.ListenerType: nil,
		resource.RouteType:    nil,
		resource.ClusterType:  nil,
		resource.EndpointType: nil,
	}
	for _, k := range slices.Sorted(maps.Keys(s.services)) {
		r, err := s.resourcesLocked(k)
		if err != nil {
			return err
		}
		byType[resource.ListenerType] = append(byType[resource.ListenerType], r.Listener)
		byType[resource.RouteType] = append(byType[resource.RouteType], r.Route)
		byType[resource.ClusterType] = append(byType[resource.ClusterType], r.Cluster)
		byType[resource.EndpointType] = append(byType[resource.EndpointType], r.Endpoints)
	}
	s.version++
	snap, err := cache.NewSnapshot(strconv.Itoa(s.version), byType)
	if err != nil {
		return fmt.Errorf("xdstest: snapshot: %w", err)
	}
	if err := s.cache.SetSnapshot(s.ctx, oneNode{}.ID(nil), snap); err != nil {
		return fmt.Errorf("xdstest: set snapshot: %w", err)
	}
	return nil
}
