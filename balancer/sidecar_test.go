package balancer_test

import (
	"crypto/tls"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
)

func TestSidecarDetect(t *testing.T) {
	ready := istiotest.NewAgent(t)
	notReady := istiotest.NewAgent(t)
	notReady.SetReady(false)
	nothing := closedAddr(t)
	for _, tc := range []struct {
		name      string
		probe     string
		admin     string
		available bool
		reason    string
	}{
		{name: "agent ready", probe: ready.Addr(), admin: nothing, available: true, reason: "istio agent ready"},
		{name: "envoy admin only", probe: nothing, admin: ready.Addr(), available: true, reason: "envoy admin ready"},
		{name: "agent not ready", probe: notReady.Addr(), admin: nothing, reason: "answers but is not ready"},
		{name: "no sidecar", probe: nothing, admin: nothing, reason: "no istio agent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := balancer.Sidecar{ProbeAddr: tc.probe, AdminAddr: tc.admin}
			d := s.Detect(shortContext(t), "svc.meshmatch.test:50504")
			if d.Available != tc.available || !strings.Contains(d.Reason, tc.reason) || d.Strategy != "sidecar" {
				t.Errorf("Detect() = %+v, want Available %v and a reason containing %q", d, tc.available, tc.reason)
			}
		})
	}
}

func TestSidecarDetectWaitsForReady(t *testing.T) {
	agent := istiotest.NewAgent(t)
	agent.SetReady(false)
	s := balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: closedAddr(t)}
	ctx := testContext(t)
	got := make(chan balancer.Detection, 1)
	go func() { got <- s.Detect(ctx, "svc.meshmatch.test:50504") }()
	if err := agent.WaitRequests(ctx, 2); err != nil {
		t.Fatal(err)
	}
	agent.SetReady(true)
	if d := <-got; !d.Available {
		t.Errorf("Detect() = %+v, want available once the agent is ready", d)
	}
}

func TestSidecarCallsWaitForReady(t *testing.T) {
	bs := balancertest.StartBackends(t, 1)
	agent := istiotest.NewAgent(t)
	agent.SetReady(false)
	s := balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: closedAddr(t)}
	// The sidecar does mTLS; credentials given to Dial are replaced by plaintext.
	conn := balancertest.Dial(t, s, bs[0].Addr, grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{})))

	_, err := calltest.GetTicket(shortContext(t), conn)
	if status.Code(err) != codes.DeadlineExceeded || !strings.Contains(err.Error(), "not ready") {
		t.Errorf("GetTicket() before the sidecar is ready = %v, want DeadlineExceeded saying it is not ready", err)
	}
	if bs[0].Calls() != 0 {
		t.Errorf("backend served %d calls before the sidecar was ready, want 0", bs[0].Calls())
	}

	ctx := testContext(t)
	done := make(chan error, 1)
	go func() { _, err := calltest.GetTicket(ctx, conn); done <- err }()
	if err := agent.WaitRequests(ctx, agent.Requests()+1); err != nil {
		t.Fatal(err)
	}
	agent.SetReady(true)
	if err := <-done; err != nil {
		t.Errorf("GetTicket() once the sidecar is ready = %v, want nil", err)
	}
}

func TestSidecarReadyTimeoutOpensGate(t *testing.T) {
	bs := balancertest.StartBackends(t, 1)
	agent := istiotest.NewAgent(t)
	agent.SetReady(false)
	s := balancer.Sidecar{ProbeAddr: agent.Addr(), AdminAddr: closedAddr(t), ReadyTimeout: 100 * time.Millisecond}
	conn := balancertest.Dial(t, s, bs[0].Addr)
	if _, err := calltest.GetTicket(testContext(t), conn); err != nil {
		t.Errorf("GetTicket() after ReadyTimeout = %v, want the call to go ahead", err)
	}
}

func TestSidecarCloseWhileWaiting(t *testing.T) {
	agent := istiotest.NewAgent(t)
	agent.SetReady(false)
	conn, err := balancer.Sidecar{ProbeAddr: agent.Addr()}.Dial("svc.meshmatch.test:50504")
	if err != nil {
		t.Fatal(err)
	}
	ctx := testContext(t)
	done := make(chan error, 1)
	go func() { _, err := calltest.GetTicket(ctx, conn); done <- err }()
	if err := agent.WaitRequests(ctx, 1); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	if err := <-done; status.Code(err) != codes.Canceled {
		t.Errorf("GetTicket() interrupted by Close = %v, want code Canceled", err)
	}
}
