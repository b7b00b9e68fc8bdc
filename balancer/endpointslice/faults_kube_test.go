//go:build kubernetes

package endpointslice_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// checkUnavailable checks that Detect reports the strategy unavailable with
// a reason holding want, and that calls of a connection fail with it.
func checkUnavailable(t *testing.T, s *endpointslice.Strategy, addr, want string) {
	t.Helper()
	ctx := testContext(t)
	d := s.Detect(ctx, addr)
	if d.Available || !strings.Contains(d.Reason, want) {
		t.Errorf("Detect(%q) = available %v, %q; want unavailable with %q", addr, d.Available, d.Reason, want)
	}
	conn := balancertest.Dial(t, s, addr)
	if err := waitFailing(ctx, conn, want); err != nil {
		t.Error(err)
	}
}

func TestNoTokenFile(t *testing.T) {
	c := cluster(t)
	bs := balancertest.StartBackendsAt(t, podHosts(1))
	svc := newService(t, c, bs)
	missing := filepath.Join(t.TempDir(), "token")
	s := &endpointslice.Strategy{APIServer: c.URL(), CAFile: c.CAFile(), TokenFile: missing}
	checkUnavailable(t, s, svc.Addr(), "read service account token: open "+missing)
}

func TestNoEndpointSlices(t *testing.T) {
	c := cluster(t)
	svc := kubetest.Service{Namespace: ns, Name: fmt.Sprintf("es-%d", serviceSeq.Add(1)), Port: 7000, Headless: true}
	if err := c.ApplyService(testContext(t), svc); err != nil {
		t.Fatal(err)
	}
	checkUnavailable(t, strategy(t, c), svc.Addr(), "service "+ns+"/"+svc.Name+" has no EndpointSlices")
}

// TestForbidden: a ServiceAccount without a Role gets 403, and the reason
// names the permission; Auto falls to the next strategy and keeps that
// reason in its Decision. Granting the Role makes the strategy work.
func TestForbidden(t *testing.T) {
	c := cluster(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(2))
	svc := newService(t, c, bs)
	s := &endpointslice.Strategy{APIServer: c.URL(), CAFile: c.CAFile(), TokenFile: serviceAccount(t, c, "no-rbac", false)}
	want := "list endpointslices.discovery.k8s.io in namespace " + ns
	checkUnavailable(t, s, svc.Addr(), want)

	decided := make(chan balancer.Decision, 16)
	auto := balancer.Auto{
		Strategies: []balancer.Strategy{s, balancer.Static{Addrs: []string{bs[0].Addr}}},
		OnDecision: func(d balancer.Decision) { decided <- d },
	}
	conn := balancertest.Dial(t, auto, svc.Addr())
	if err := calltest.WaitServed(ctx, conn, bs[:1]); err != nil {
		t.Fatal(err)
	}
	select {
	case d := <-decided:
		if d.Strategy != "static" || len(d.Detections) == 0 || !strings.Contains(d.Detections[0].Reason, want) {
			t.Errorf("Auto decision = %q, detections %+v; want static with the endpointslice reason %q", d.Strategy, d.Detections, want)
		}
	case <-ctx.Done():
		t.Fatal("Auto made no decision")
	}

	grant := serviceAccount(t, c, "no-rbac", true)
	s.TokenFile = grant
	if d := s.Detect(ctx, svc.Addr()); !d.Available {
		t.Fatalf("Detect with the Role = unavailable: %s", d.Reason)
	}
	if err := calltest.WaitServed(ctx, balancertest.Dial(t, s, svc.Addr()), bs); err != nil {
		t.Fatalf("with the Role: %v", err)
	}
}

// TestWrongNamespaceToken: a token of a ServiceAccount of another
// namespace, whose Role grants list and watch there, is refused the
// Service's namespace; the reason names that namespace, the permission and
// the ServiceAccount. The same token watches a Service of its own
// namespace.
func TestWrongNamespaceToken(t *testing.T) {
	c := cluster(t)
	ctx := testContext(t)
	const other = "other-team"
	bs := balancertest.StartBackendsAt(t, podHosts(2))
	svc := newService(t, c, bs)
	s := &endpointslice.Strategy{APIServer: c.URL(), CAFile: c.CAFile(), TokenFile: serviceAccountIn(t, c, other, "meshmatch-watcher", true)}
	checkUnavailable(t, s, svc.Addr(), "may not list endpointslices.discovery.k8s.io in namespace "+ns)
	user := "system:serviceaccount:" + other + ":meshmatch-watcher"
	if d := s.Detect(ctx, svc.Addr()); !strings.Contains(d.Reason, user) {
		t.Errorf("Detect(%q).Reason = %q, want it to name %s", svc.Addr(), d.Reason, user)
	}

	own := kubetest.Service{Namespace: other, Name: svc.Name, Port: svc.Port, Headless: true}
	if err := c.ApplyService(ctx, own); err != nil {
		t.Fatal(err)
	}
	setEndpoints(t, c, own, kubetest.Ready(balancertest.IPs(bs)...))
	if err := calltest.WaitServed(ctx, balancertest.Dial(t, s, own.Addr()), bs); err != nil {
		t.Fatalf("the same token in its own namespace %s: %v", other, err)
	}
}

// TestAPIServerRestart: while the API server stops and starts again, calls
// keep going to the last known endpoints (idempotent calls with one retry
// all succeed), and the watch then resumes: a pod added afterwards gets
// calls.
func TestAPIServerRestart(t *testing.T) {
	c := cluster(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(3))
	svc := newService(t, c, bs[:2])
	conn := balancertest.Dial(t, strategy(t, c), svc.Addr())
	if err := calltest.WaitServed(ctx, conn, bs[:2]); err != nil {
		t.Fatal(err)
	}
	var calls, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			_, _, err := calltest.GetTicketRetry(ctx, conn)
			calls.Add(1)
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}
	}()
	c.StopAPIServer()
	if err := c.StartAPIServer(ctx); err != nil {
		close(stop)
		wg.Wait()
		t.Fatal(err)
	}
	setEndpoints(t, c, svc, kubetest.Ready(balancertest.IPs(bs)...))
	err := calltest.WaitServed(ctx, conn, bs[2:])
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatalf("after the restart, the added pod: %v", err)
	}
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d calls failed across the API server restart (first: %v)", n, calls.Load(), firstErr.Load())
	}
	t.Logf("%d calls across the restart, %d failed", calls.Load(), failed.Load())
}

// TestNotReady: not-ready and terminating endpoints get no new calls; with
// zero ready endpoints calls fail with a reason naming the Service, and
// they succeed again once a pod is ready.
func TestNotReady(t *testing.T) {
	c := cluster(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(3))
	svc := newService(t, c, bs)
	conn := balancertest.Dial(t, strategy(t, c), svc.Addr())
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatal(err)
	}
	eps := kubetest.Ready(balancertest.IPs(bs)...)
	eps[0].Terminating = true
	eps[1].NotReady = true
	setEndpoints(t, c, svc, eps)
	for _, gone := range bs[:2] {
		if err := waitNotServed(ctx, conn, gone, 30); err != nil {
			t.Fatal(err)
		}
	}
	eps[2].NotReady = true
	setEndpoints(t, c, svc, eps)
	if err := waitFailing(ctx, conn, "service "+ns+"/"+svc.Name+" has no ready endpoints"); err != nil {
		t.Fatal(err)
	}
	setEndpoints(t, c, svc, kubetest.Ready(balancertest.IPs(bs[1:2])...))
	if err := calltest.WaitServed(ctx, conn, bs[1:2]); err != nil {
		t.Fatalf("after %s is ready again: %v", bs[1].Name, err)
	}
}

// TestSliceDeletedAndRecreated: deleting the Service's only EndpointSlice
// leaves it no endpoints (calls fail naming the Service); recreating it
// brings the pods back.
func TestSliceDeletedAndRecreated(t *testing.T) {
	c := cluster(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(2))
	svc := newService(t, c, bs)
	conn := balancertest.Dial(t, strategy(t, c), svc.Addr())
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatal(err)
	}
	if err := c.Delete(ctx, "discovery.k8s.io/v1", "EndpointSlice", ns, svc.SliceName()); err != nil {
		t.Fatal(err)
	}
	if err := waitFailing(ctx, conn, "service "+ns+"/"+svc.Name+" has no EndpointSlices"); err != nil {
		t.Fatal(err)
	}
	setEndpoints(t, c, svc, kubetest.Ready(balancertest.IPs(bs)...))
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("after recreating the slice: %v", err)
	}
}

// secondSlice is an extra EndpointSlice of a Service, as the EndpointSlice
// controller writes when a Service has more than 100 endpoints.
const secondSlice = `apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: %s-second
  namespace: %s
  labels: {kubernetes.io/service-name: %s}
addressType: IPv4
ports: [{name: grpc, port: %d, protocol: TCP}]
endpoints:
- {addresses: [%s], conditions: {ready: true}}
- {addresses: [%s], conditions: {ready: true}}
`

// TestSlicesMerged: the endpoints of two slices are merged, and an address
// in both gets its share once.
func TestSlicesMerged(t *testing.T) {
	c := cluster(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(3))
	svc := newService(t, c, bs[:2])
	a := balancertest.IPs(bs)
	doc := fmt.Sprintf(secondSlice, svc.Name, ns, svc.Name, svc.Port, a[1], a[2])
	if err := c.Apply(ctx, []byte(doc)); err != nil {
		t.Fatal(err)
	}
	conn := balancertest.Dial(t, strategy(t, c), svc.Addr())
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatal(err)
	}
	before := calltest.Counts(bs)
	for i := range 300 {
		if _, err := calltest.GetTicket(ctx, conn); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	got := calltest.Deltas(bs, before)
	for i, b := range bs {
		if got[i] < 80 || got[i] > 120 {
			t.Errorf("%s served %d of 300 calls (%v), want about 100", b.Name, got[i], got)
		}
	}
}

// TestTokenReadAgain: the token file is read for every list and watch, as
// the kubelet rotates bound tokens in place. A connection whose token may
// not list fails calls naming the permission; once the file holds a token
// that may, the same connection reaches the pods.
func TestTokenReadAgain(t *testing.T) {
	c := cluster(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(2))
	svc := newService(t, c, bs)
	file := serviceAccount(t, c, "rotating-no-rbac", false)
	s := &endpointslice.Strategy{APIServer: c.URL(), CAFile: c.CAFile(), TokenFile: file}
	conn := balancertest.Dial(t, s, svc.Addr())
	if err := waitFailing(ctx, conn, "list endpointslices.discovery.k8s.io in namespace "+ns); err != nil {
		t.Fatal(err)
	}
	granted, err := os.ReadFile(serviceAccount(t, c, "rotating-granted", true))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, granted, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("after the token file was rewritten: %v", err)
	}
}
