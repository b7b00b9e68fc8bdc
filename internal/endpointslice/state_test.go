package endpointslice

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	discoveryv1 "k8s.io/api/discovery/v1"
)

func ptr[T any](v T) *T { return &v }

func slice(port *int32, typ discoveryv1.AddressType, eps ...discoveryv1.Endpoint) *discoveryv1.EndpointSlice {
	return &discoveryv1.EndpointSlice{AddressType: typ, Ports: []discoveryv1.EndpointPort{{Port: port}}, Endpoints: eps}
}

func ep(addr string, ready, terminating *bool) discoveryv1.Endpoint {
	return discoveryv1.Endpoint{Addresses: []string{addr}, Conditions: discoveryv1.EndpointConditions{Ready: ready, Terminating: terminating}}
}

func TestAddrs(t *testing.T) {
	yes, no := ptr(true), ptr(false)
	s := Slices{
		"a": slice(ptr(int32(7000)), discoveryv1.AddressTypeIPv4,
			ep("10.0.0.1", yes, no), ep("10.0.0.2", nil, nil), ep("10.0.0.3", no, nil), ep("10.0.0.4", yes, yes)),
		"b":          slice(ptr(int32(7000)), discoveryv1.AddressTypeIPv4, ep("10.0.0.2", yes, nil), ep("10.0.0.5", yes, nil)),
		"other-port": slice(ptr(int32(8000)), discoveryv1.AddressTypeIPv4, ep("10.0.0.6", yes, nil)),
		"all-ports":  slice(nil, discoveryv1.AddressTypeIPv6, ep("fd00::7", yes, nil)),
		"fqdn":       slice(ptr(int32(7000)), discoveryv1.AddressTypeFQDN, ep("pod.example", yes, nil)),
	}
	want := []string{"10.0.0.1:7000", "10.0.0.2:7000", "10.0.0.5:7000", "[fd00::7]:7000"}
	assert.Equal(t, want, s.Addrs(Target{Port: 7000}), "Addrs(port 7000)")
}

func named(name string, port *int32) discoveryv1.EndpointPort {
	return discoveryv1.EndpointPort{Name: &name, Port: port}
}

// TestAddrsByName: a named port takes its number from each slice; a slice
// without that name, or whose port of that name has no number, is left out.
func TestAddrsByName(t *testing.T) {
	yes := ptr(true)
	withPorts := func(sl *discoveryv1.EndpointSlice, ps ...discoveryv1.EndpointPort) *discoveryv1.EndpointSlice {
		sl.Ports = ps
		return sl
	}
	s := Slices{
		"old":       withPorts(slice(nil, discoveryv1.AddressTypeIPv4, ep("10.0.0.1", yes, nil)), named("metrics", ptr(int32(9090))), named("grpc", ptr(int32(7000)))),
		"new":       withPorts(slice(nil, discoveryv1.AddressTypeIPv4, ep("10.0.0.2", yes, nil)), named("grpc", ptr(int32(7001)))),
		"other":     withPorts(slice(nil, discoveryv1.AddressTypeIPv4, ep("10.0.0.3", yes, nil)), named("http", ptr(int32(7000)))),
		"no-number": withPorts(slice(nil, discoveryv1.AddressTypeIPv4, ep("10.0.0.4", yes, nil)), named("grpc", nil)),
	}
	want := []string{"10.0.0.1:7000", "10.0.0.2:7001"}
	assert.Equal(t, want, s.Addrs(Target{PortName: "grpc"}), "Addrs(port grpc)")
	assert.Equal(t, []string{"10.0.0.1:9090"}, s.Addrs(Target{PortName: "metrics"}), "Addrs(port metrics)")
	assert.Empty(t, s.Addrs(Target{PortName: "grpcx"}), "Addrs(port grpcx)")
	assert.True(t, s.HasPort(Target{PortName: "http"}), "HasPort(http)")
	assert.False(t, s.HasPort(Target{PortName: "grpcx"}), "HasPort(grpcx)")
}

func TestEmpty(t *testing.T) {
	tgt := Target{Name: "om", Namespace: "open-match", Port: 7000}
	assert.ErrorContains(t, Slices{}.Empty(tgt), "service open-match/om has no EndpointSlices")
	s := Slices{"a": slice(ptr(int32(7000)), discoveryv1.AddressTypeIPv4, ep("10.0.0.3", ptr(false), nil))}
	assert.ErrorContains(t, s.Empty(tgt), "service open-match/om has no ready endpoints on port 7000 (1 endpoints in 1 EndpointSlices)")
	s["a"].Ports = []discoveryv1.EndpointPort{named("grpc", ptr(int32(50504))), named("metrics", ptr(int32(9090)))}
	assert.ErrorContains(t, s.Empty(tgt), `service open-match/om has no port 7000 (its EndpointSlices have grpc/50504, metrics/9090)`)
	byName := Target{Name: "om", Namespace: "open-match", PortName: "grpcx"}
	assert.ErrorContains(t, s.Empty(byName), `service open-match/om has no port named "grpcx" (its EndpointSlices have grpc/50504, metrics/9090)`)
	byName.PortName = "grpc"
	assert.ErrorContains(t, s.Empty(byName), `service open-match/om has no ready endpoints on port "grpc" (1 endpoints in 1 EndpointSlices)`)
}

func TestStatusError(t *testing.T) {
	tgt := Target{Name: "om", Namespace: "open-match"}
	body := []byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","message":"endpointslices.discovery.k8s.io is forbidden: User \"system:serviceaccount:open-match:default\" cannot list resource","reason":"Forbidden","code":403}`)
	err := statusError("list", tgt, "/tok", http.StatusForbidden, body)
	assert.ErrorContains(t, err, "may not list endpointslices.discovery.k8s.io in namespace open-match")
	assert.ErrorContains(t, err, `User "system:serviceaccount:open-match:default" cannot list`)
	assert.ErrorContains(t, statusError("watch", tgt, "/tok", http.StatusUnauthorized, []byte("Unauthorized")), "rejected the token in /tok")
	assert.ErrorIs(t, statusError("watch", tgt, "/tok", http.StatusGone, nil), errGone)
	err = statusError("list", tgt, "/tok", http.StatusInternalServerError, []byte("boom"))
	assert.True(t, strings.HasPrefix(err.Error(), "endpointslice: list endpointslices of open-match/om: Internal Server Error: boom"), "statusError(500) = %v", err)
}
