//go:build kubernetes

package endpointslice_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// namedSlice is an EndpointSlice of a Service with one endpoint on a named
// port, as the EndpointSlice controller writes for pods whose container
// port of that name has another number (pods of a new rollout, say).
const namedSlice = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %[1]s-rollout
  namespace: %[2]s
  labels: {kubernetes.io/service-name: %[1]s}
addressType: IPv4
ports: [{name: %[3]s, port: %[4]d, protocol: TCP}]
endpoints:
- {addresses: [%[5]s], conditions: {ready: true}}
`

// TestNamedPort: an address naming the Service's port reaches the
// endpoints of every slice on the number that slice gives the name, here
// two slices with two numbers.
func TestNamedPort(t *testing.T) {
	c := cluster(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(2))
	var rollout []*balancertest.Backend
	for range 5 { // a port of its own, unlike bs's
		if rollout = balancertest.StartBackendsAt(t, podHosts(3)[2:]); int(rollout[0].AddrPort().Port()) != int(bs[0].AddrPort().Port()) {
			break
		}
	}
	if int(rollout[0].AddrPort().Port()) == int(bs[0].AddrPort().Port()) {
		t.Fatalf("no port for %s other than %d", rollout[0].Name, int(bs[0].AddrPort().Port()))
	}
	svc := kubetest.Service{Namespace: ns, Name: fmt.Sprintf("es-%d", serviceSeq.Add(1)), Port: int32(int(bs[0].AddrPort().Port())), PortName: "grpc", Headless: true}
	if err := c.ApplyService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	setEndpoints(t, c, svc, kubetest.Ready(balancertest.IPs(bs)...))
	doc := fmt.Sprintf(namedSlice, svc.Name, ns, "grpc", int(rollout[0].AddrPort().Port()), balancertest.IPs(rollout)[0])
	if err := c.Apply(ctx, []byte(doc)); err != nil {
		t.Fatal(err)
	}
	all := append(bs, rollout...)
	s := strategy(t, c)
	addr := svc.Host() + ":grpc"
	d := s.Detect(ctx, addr)
	if want := `3 ready endpoints on port "grpc"`; !d.Available || !strings.Contains(d.Reason, want) {
		t.Errorf("Detect(%q) = available %v, %q; want available with %q", addr, d.Available, d.Reason, want)
	}
	if err := calltest.WaitServed(ctx, balancertest.Dial(t, s, addr), all); err != nil {
		t.Fatalf("by port name: %v", err)
	}
	// By number, only the slice with that number serves.
	conn := balancertest.Dial(t, s, svc.Addr())
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("by port number: %v", err)
	}
	before := rollout[0].Calls()
	for i := range 60 {
		if _, err := calltest.GetTicket(ctx, conn); err != nil {
			t.Fatalf("by port number, call %d: %v", i, err)
		}
	}
	if n := rollout[0].Calls() - before; n != 0 {
		t.Errorf("by port number %d, the endpoint of the other number served %d of 60 calls", svc.Port, n)
	}
}

// TestUnknownPortName: an address naming a port the Service does not have
// makes Detect report unavailable and calls fail at once, with an error
// naming the port, the Service and the ports it has.
func TestUnknownPortName(t *testing.T) {
	c := cluster(t)
	bs := balancertest.StartBackendsAt(t, podHosts(1))
	svc := newService(t, c, bs)
	want := fmt.Sprintf(`service %s/%s has no port named "grpcx" (its EndpointSlices have grpc/%d)`, ns, svc.Name, svc.Port)
	checkUnavailable(t, strategy(t, c), svc.Host()+":grpcx", want)
	if n := bs[0].Calls(); n != 0 {
		t.Errorf("%s served %d calls for an unknown port name", bs[0].Name, n)
	}
}
