//go:build kubernetes

package kubernetes

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/kubetest"
)

// logBuffer is a slog handler's destination that tests can wait on.
type logBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLogBuffer() *logBuffer { return &logBuffer{changed: make(chan struct{})} }

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	close(l.changed)
	l.changed = make(chan struct{})
	return l.buf.Write(p)
}

// wait waits until the log holds substr.
func (l *logBuffer) wait(ctx context.Context, substr string) (string, error) {
	for {
		l.mu.Lock()
		s, ch := l.buf.String(), l.changed
		l.mu.Unlock()
		if i := strings.Index(s, substr); i >= 0 {
			line := s[i:]
			if j := strings.IndexByte(line, '\n'); j >= 0 {
				line = line[:j]
			}
			return line, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// TestHeadlessCoreDNSDown kills CoreDNS while the Service's pods change: the
// client keeps calling the pods of its last answer, logs that it does so,
// and follows the change once CoreDNS is back.
func TestHeadlessCoreDNSDown(t *testing.T) {
	c, d := env(t)
	ctx := testContext(t)
	bs := balancertest.StartBackendsAt(t, podHosts(4))
	s := newService(t, c, true, bs[:3])
	logs := newLogBuffer()
	h := balancer.Headless{DNS: balancer.DNS{RefreshInterval: testRefresh}, Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelWarn}))}
	conn := balancertest.Dial(t, h, s.Addr())
	if err := calltest.WaitServed(ctx, conn, bs[:3]); err != nil {
		t.Fatal(err)
	}
	d.Kill()
	t.Cleanup(func() {
		if d.Running() {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), kubetest.StartTimeout)
		defer cancel()
		if err := d.Start(ctx); err != nil {
			t.Errorf("restart CoreDNS for the next tests: %v", err)
		}
	})
	setEndpoints(t, c, s, kubetest.Ready(balancertest.IPs(bs[1:])...))
	line, err := logs.wait(ctx, "keeping previous addresses")
	if err != nil {
		t.Fatalf("no warning about the failed lookup with CoreDNS down: %v", err)
	}
	t.Logf("with CoreDNS down: %s", line)
	if !strings.Contains(line, s.Host()) {
		t.Errorf("warning %q does not name %s", line, s.Host())
	}
	got := spread(t, ctx, conn, bs, 90)
	for i, b := range bs[:3] {
		if got[i] == 0 {
			t.Errorf("with CoreDNS down, %s of the last answer served no call of 90 (%v)", b.Name, got)
		}
	}
	sctx, cancel := context.WithTimeout(ctx, kubetest.StartTimeout)
	defer cancel()
	if err := d.Start(sctx); err != nil {
		t.Fatal(err)
	}
	if err := calltest.WaitServed(ctx, conn, bs[3:]); err != nil {
		t.Fatalf("after CoreDNS's restart, the pod added while it was down: %v", err)
	}
	if err := waitNotServed(ctx, conn, bs[0], 30); err != nil {
		t.Fatalf("after CoreDNS's restart, the pod removed while it was down: %v", err)
	}
}

// TestNoReadyEndpoints: a Service whose only pod is not ready fails calls
// with an error that names the Service, through CoreDNS and through istiod.
func TestNoReadyEndpoints(t *testing.T) {
	c, _ := istiodEnv(t)
	bs := balancertest.StartBackendsAt(t, podHosts(1))
	s := newService(t, c, true, bs)
	setEndpoints(t, c, s, []kubetest.Endpoint{{Addr: balancertest.IPs(bs)[0], NotReady: true}})
	for _, st := range []balancer.Strategy{
		balancer.Headless{DNS: balancer.DNS{RefreshInterval: testRefresh}},
		xdsStrategy("no-ready"),
	} {
		t.Run(st.Name(), func(t *testing.T) {
			conn := balancertest.Dial(t, st, s.Addr())
			ctx, cancel := context.WithTimeout(testContext(t), 3*time.Second)
			defer cancel()
			_, err := calltest.GetTicket(ctx, conn)
			if err == nil {
				t.Fatalf("call with no ready endpoint succeeded (served by %s)", bs[0].Name)
			}
			t.Logf("%s: %v", st.Name(), err)
			if !strings.Contains(err.Error(), s.Name) {
				t.Errorf("error %q does not name the Service %s", err, s.Name)
			}
			if bs[0].Calls() != 0 {
				t.Errorf("not-ready %s served %d calls", bs[0].Name, bs[0].Calls())
			}
		})
	}
}
