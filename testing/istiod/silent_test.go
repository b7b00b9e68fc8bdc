//go:build istiod

package istiod_test

import (
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/omclient/pb"
	"github.com/meshmatch/meshmatch/testing/faulttest"
	"github.com/meshmatch/meshmatch/testing/istiod"
	"github.com/meshmatch/meshmatch/testing/omtest"
)

// dyingPods are 3 pods (faulttest proxies on 127.0.0.1…3) in front of one
// in-memory core, as Open-Match's frontend replicas share one store. When
// armed for a method, the next call of it is served by the core and then
// the connection of the pod it came through is cut before the answer
// leaves: the work is done, the pod is gone.
type dyingPods struct {
	pods []*faulttest.Proxy
	core *omtest.Server

	mu     sync.Mutex
	armed  string
	counts map[string]int
}

func startDyingPods(t *testing.T) *dyingPods {
	t.Helper()
	d := &dyingPods{counts: map[string]int{}}
	core, err := omtest.Start(omtest.Config{ServerOptions: []grpc.ServerOption{grpc.ChainUnaryInterceptor(d.intercept)}})
	if err != nil {
		t.Fatalf("omtest.Start() = %v", err)
	}
	t.Cleanup(func() { _ = core.Close() })
	d.core = core
	d.pods = faulttest.NewProxies(t, 3, core.Addr())
	return d
}

func (d *dyingPods) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	method := info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:]
	d.mu.Lock()
	d.counts[method]++
	die := d.armed == method
	if die {
		d.armed = ""
	}
	d.mu.Unlock()
	resp, err := h(ctx, req)
	if !die {
		return resp, err
	}
	if pod := d.podOf(ctx); pod != nil {
		pod.Cut()
		return resp, err
	}
	return nil, status.Error(codes.Internal, "istiod test: call came through no known pod, so none could be cut")
}

// podOf returns the pod a call came through (each proxy connects to the
// core from its own IP), or nil.
func (d *dyingPods) podOf(ctx context.Context) *faulttest.Proxy {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return nil
	}
	ip, _, _ := net.SplitHostPort(p.Addr.String())
	for _, pod := range d.pods {
		if host, _, _ := net.SplitHostPort(pod.Addr()); host == ip {
			return pod
		}
	}
	return nil
}

func (d *dyingPods) arm(method string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.armed = method
}

func (d *dyingPods) count(method string) int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.counts[method]
}

// TestNoSilentDuplicates: a pod that stores a ticket (or changes a
// backfill) and dies before answering must cost the caller an error, not a
// second store through another pod answered as a success.
func TestNoSilentDuplicates(t *testing.T) {
	ctx := testContext(t)
	srv := sharedIstiod(t)
	d := startDyingPods(t)
	_, port, _ := net.SplitHostPort(d.pods[0].Addr())
	name := uniqueName("dying")
	svc := istiod.Service{Name: name, Host: hostFor(name), Endpoints: []string{"127.0.0.1", "127.0.0.2", "127.0.0.3"}}
	svc.Port, _ = strconv.Atoi(port)
	setService(t, srv, svc)
	fe := omclient.NewFrontend(newConn(t, svc.Addr(), omclient.WithStrategy(xdsStrategy(srv, uniqueName("dying-pod")))))
	bf, err := fe.CreateBackfill(ctx, &pb.Backfill{})
	if err != nil {
		t.Fatalf("CreateBackfill() before the faults = %v", err)
	}
	for _, tc := range []struct {
		method string
		call   func(ctx context.Context) error
	}{
		{method: "CreateTicket", call: func(ctx context.Context) error { _, err := fe.CreateTicket(ctx, &pb.Ticket{}); return err }},
		{method: "CreateBackfill", call: func(ctx context.Context) error { _, err := fe.CreateBackfill(ctx, &pb.Backfill{}); return err }},
		{method: "UpdateBackfill", call: func(ctx context.Context) error { _, err := fe.UpdateBackfill(ctx, bf); return err }},
		{method: "AcknowledgeBackfill", call: func(ctx context.Context) error {
			_, err := fe.AcknowledgeBackfill(ctx, bf.GetId(), &pb.Assignment{Connection: "10.0.0.1:7777"})
			return err
		}},
	} {
		t.Run(tc.method, func(t *testing.T) {
			before := d.count(tc.method)
			d.arm(tc.method)
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := tc.call(cctx)
			cancel()
			got := d.count(tc.method) - before
			t.Logf("%s through a pod that died after serving it: %d server-side calls; caller got %v", tc.method, got, err)
			if got != 1 {
				t.Errorf("%s: served %d times for one client call, want exactly once; the caller got %v", tc.method, got, err)
			}
			if status.Code(err) == codes.Internal {
				t.Fatalf("%s: %v", tc.method, err)
			}
			if err == nil {
				t.Errorf("%s: caller got success although the pod died before answering, want an error", tc.method)
			}
		})
	}
}
