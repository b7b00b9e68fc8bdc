package kubetest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Service is a Kubernetes Service of the test cluster with one TCP port.
type Service struct {
	Namespace, Name string
	// Port is the Service port and the endpoints' port; PortName its name
	// ("grpc" when empty).
	Port     int32
	PortName string
	// Headless makes it clusterIP: None, as Open-Match's chart makes its
	// Services.
	Headless bool
	// PublishNotReadyAddresses has DNS answer with endpoints that are not
	// ready as well.
	PublishNotReadyAddresses bool
}

// Host returns the Service's cluster DNS name,
// name.namespace.svc.cluster.local.
func (s Service) Host() string { return s.Name + "." + s.Namespace + ".svc.cluster.local" }

// Addr returns Host():Port.
func (s Service) Addr() string { return fmt.Sprintf("%s:%d", s.Host(), s.Port) }

func (s Service) portName() string {
	if s.PortName == "" {
		return "grpc"
	}
	return s.PortName
}

// Endpoint is one address of an EndpointSlice with its conditions.
type Endpoint struct {
	Addr netip.Addr
	// NotReady, NotServing and Terminating set the conditions ready: false,
	// serving: false and terminating: true; the zero value is a ready pod.
	NotReady, NotServing, Terminating bool
}

// Ready returns ready endpoints for addrs.
func Ready(addrs ...netip.Addr) []Endpoint {
	eps := make([]Endpoint, len(addrs))
	for i, a := range addrs {
		eps[i] = Endpoint{Addr: a}
	}
	return eps
}

// EnsureNamespace creates namespace ns with its default ServiceAccount, as
// the namespace and ServiceAccount controllers of a cluster do (none runs
// here).
func (c *Cluster) EnsureNamespace(ctx context.Context, ns string) error {
	return c.applyObjects(ctx,
		corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"}, ObjectMeta: metav1.ObjectMeta{Name: ns}},
		corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}},
	)
}

// ApplyService creates or updates the Service (and its Namespace, see
// EnsureNamespace) through the API server.
func (c *Cluster) ApplyService(ctx context.Context, s Service) error {
	if err := c.EnsureNamespace(ctx, s.Namespace); err != nil {
		return err
	}
	svc := corev1.Service{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: s.Name, Namespace: s.Namespace},
		Spec: corev1.ServiceSpec{
			Selector:                 map[string]string{"app": s.Name},
			Ports:                    []corev1.ServicePort{{Name: s.portName(), Port: s.Port, Protocol: corev1.ProtocolTCP}},
			PublishNotReadyAddresses: s.PublishNotReadyAddresses,
		},
	}
	if s.Headless {
		svc.Spec.ClusterIP = corev1.ClusterIPNone
	}
	return c.applyObjects(ctx, svc)
}

// SliceName returns the name of the EndpointSlice SetEndpoints writes.
func (s Service) SliceName() string { return s.Name + "-kubetest" }

// SetEndpoints makes the Service's one EndpointSlice (SliceName) hold
// exactly eps, the way the EndpointSlice controller writes one from the
// Service's Pods. Like that controller, it marks a not-ready endpoint ready
// when the Service has PublishNotReadyAddresses (serving stays false): DNS
// servers and istiod read only the ready condition.
func (c *Cluster) SetEndpoints(ctx context.Context, s Service, eps []Endpoint) error {
	return c.applyObjects(ctx, endpointSlice(s, s.SliceName(), eps))
}

func endpointSlice(s Service, name string, eps []Endpoint) discoveryv1.EndpointSlice {
	port, proto := s.Port, corev1.ProtocolTCP
	pname := s.portName()
	slice := discoveryv1.EndpointSlice{
		TypeMeta: metav1.TypeMeta{APIVersion: "discovery.k8s.io/v1", Kind: "EndpointSlice"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: s.Namespace, Labels: map[string]string{
			discoveryv1.LabelServiceName: s.Name,
			discoveryv1.LabelManagedBy:   "kubetest",
		}},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: &pname, Port: &port, Protocol: &proto}},
		Endpoints:   []discoveryv1.Endpoint{},
	}
	for _, ep := range eps {
		ready, serving, terminating := !ep.NotReady || s.PublishNotReadyAddresses, !ep.NotServing, ep.Terminating
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{
			Addresses:  []string{ep.Addr.String()},
			Conditions: discoveryv1.EndpointConditions{Ready: &ready, Serving: &serving, Terminating: &terminating},
		})
	}
	return slice
}

func (c *Cluster) applyObjects(ctx context.Context, objs ...any) error {
	var docs []byte
	for _, o := range objs {
		js, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("kubetest: %w", err)
		}
		docs = append(append(docs, js...), "\n---\n"...)
	}
	return c.Apply(ctx, docs)
}
