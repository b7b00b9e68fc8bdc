//go:build kubernetes

package deploy_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer/endpointslice"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// checkWatcher runs the endpointslice strategy as a pod of ServiceAccount
// saNS/sa does, with a token from the TokenRequest API: it balances calls
// over the backends of a headless Service in open-match, and the same
// token is refused everything else.
func checkWatcher(t *testing.T, c *kubetest.Cluster, saNS, sa string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	token, err := c.Token(ctx, saNS, sa)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}

	hosts := []string{kubetest.PodAddr(0).String(), kubetest.PodAddr(1).String(), kubetest.PodAddr(2).String()}
	bs := balancertest.StartBackendsAt(t, hosts)
	port := netip.MustParseAddrPort(bs[0].Addr).Port()
	svc := kubetest.Service{Namespace: openMatchNamespace, Name: "open-match-frontend", Port: int32(port), Headless: true}
	if err := c.ApplyService(ctx, svc); err != nil {
		t.Fatal(err)
	}
	var eps []netip.Addr
	for _, b := range bs {
		eps = append(eps, netip.MustParseAddrPort(b.Addr).Addr())
	}
	if err := c.SetEndpoints(ctx, svc, kubetest.Ready(eps...)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for _, del := range [][2]string{{"discovery.k8s.io/v1", "EndpointSlice"}, {"v1", "Service"}} {
			name := svc.Name
			if del[1] == "EndpointSlice" {
				name = svc.SliceName()
			}
			if err := c.Delete(ctx, del[0], del[1], svc.Namespace, name); err != nil {
				t.Errorf("delete %s %s: %v", del[1], name, err)
			}
		}
	})

	s := &endpointslice.Strategy{APIServer: c.URL(), CAFile: c.CAFile(), TokenFile: file}
	if d := s.Detect(ctx, svc.Addr()); !d.Available {
		t.Fatalf("Detect(%q) with %s/%s's token = unavailable: %s", svc.Addr(), saNS, sa, d.Reason)
	}
	conn, err := s.Dial(svc.Addr(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := calltest.WaitServed(ctx, conn, bs); err != nil {
		t.Fatalf("endpointslice strategy with %s/%s's token: %v", saNS, sa, err)
	}
	before := calltest.Counts(bs)
	for i := range 90 {
		if _, err := calltest.GetTicket(ctx, conn); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	for i, n := range calltest.Deltas(bs, before) {
		if n < 20 {
			t.Errorf("%s served %d of 90 calls (%v), want about 30", bs[i].Name, n, calltest.Deltas(bs, before))
		}
	}

	slices := "/apis/discovery.k8s.io/v1/namespaces/" + openMatchNamespace + "/endpointslices"
	slice := `{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"x","labels":{"kubernetes.io/service-name":"x"}},"addressType":"IPv4","endpoints":[]}`
	for _, req := range []struct{ method, path, body string }{
		{method: http.MethodGet, path: slices + "/" + svc.SliceName()},
		{method: http.MethodPost, path: slices, body: slice},
		{method: http.MethodDelete, path: slices + "/" + svc.SliceName()},
		{method: http.MethodGet, path: "/apis/discovery.k8s.io/v1/namespaces/" + saNS + "/endpointslices"},
		{method: http.MethodGet, path: "/apis/discovery.k8s.io/v1/endpointslices"},
		{method: http.MethodGet, path: "/api/v1/namespaces/" + openMatchNamespace + "/pods"},
		{method: http.MethodGet, path: "/api/v1/namespaces/" + openMatchNamespace + "/secrets"},
		{method: http.MethodGet, path: "/api/v1/namespaces/" + openMatchNamespace + "/services"},
		{method: http.MethodGet, path: "/api/v1/namespaces/" + saNS + "/secrets"},
	} {
		var body []byte
		if req.body != "" {
			body = []byte(req.body)
		}
		_, err := c.DoAs(ctx, token, req.method, req.path, body, "application/json")
		var se *kubetest.StatusError
		if !errors.As(err, &se) || se.Code != http.StatusForbidden || !strings.Contains(se.Status.Message, "system:serviceaccount:"+saNS+":"+sa) {
			t.Errorf("%s %s as %s/%s = %v, want 403 naming the ServiceAccount", req.method, req.path, saNS, sa, err)
		}
	}
}
