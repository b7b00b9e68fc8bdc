package main

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
	"github.com/meshmatch/meshmatch/xds"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// outsidePod is the environment of a process outside Kubernetes: nothing set.
func outsidePod(string) string { return "" }

func TestRun(t *testing.T) {
	agent := istiotest.NewAgent(t)
	dns := dnstest.NewServer(t)
	dns.Set("frontend.meshmatch.test", "127.0.0.1")
	backend := balancertest.StartBackends(t, 1)[0]
	_, port, _ := net.SplitHostPort(backend.Addr)
	portNum, _ := strconv.Atoi(port)
	addr := "frontend.meshmatch.test:" + port
	nothing := closedAddr(t)
	istiod := xdstest.NewServer(t)
	if err := istiod.SetEndpoints("frontend.meshmatch.test", portNum, backend.Addr); err != nil {
		t.Fatal(err)
	}
	noListener := xdstest.NewServer(t)
	quick := []string{"-timeout", "2s", "-gate", "200ms", "-dns-server", dns.Addr(), "-sidecar-admin", nothing}
	args := func(extra ...string) []string { return append(append([]string(nil), quick...), extra...) }
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{
			name:     "sidecar",
			args:     args("-addr", addr, "-sidecar-probe", agent.Addr(), "-istiod", nothing),
			wantCode: 0,
			want:     []string{"resolves to [127.0.0.1]", "sidecar:  available", "auto would use: sidecar", "connection READY"},
		},
		{
			name:     "headless",
			args:     args("-addr", addr, "-sidecar-probe", nothing, "-istiod", nothing),
			wantCode: 0,
			want:     []string{"sidecar:  not available", "no istio agent", "auto would use: headless", "connection READY"},
		},
		{
			name:     "default flags outside a pod",
			args:     args("-addr", addr, "-sidecar-probe", nothing),
			wantCode: 0,
			want:     []string{"xds:      not available", "not in a Kubernetes pod", "auto would use: headless"},
		},
		{
			name:     "unknown name",
			args:     args("-addr", "missing.meshmatch.test:50504", "-sidecar-probe", nothing, "-istiod", nothing),
			wantCode: 0,
			want:     []string{"missing.meshmatch.test does not resolve", "auto would use: headless"},
		},
		{
			name:     "proxyless",
			args:     args("-addr", addr, "-sidecar-probe", nothing, "-istiod", istiod.Addr()),
			wantCode: 0,
			want:     []string{"sidecar:  not available", "xds:      available", "auto would use: xds", "connection READY"},
		},
		{
			name:     "istiod without a listener for the service",
			args:     args("-addr", addr, "-sidecar-probe", nothing, "-istiod", noListener.Addr()),
			wantCode: 0,
			want:     []string{"xds:      available", "note:     xds was detected but did not become READY", "auto would use: headless", "connection READY"},
		},
		{name: "invalid address", args: []string{"-addr", "no-port"}, wantCode: 1, want: []string{"-addr: invalid address"}},
		{name: "bad flag", args: []string{"-nope"}, wantCode: 2, want: []string{"flag provided but not defined"}},
		{name: "extra argument", args: []string{"extra"}, wantCode: 2, want: []string{"unexpected arguments"}},
		{name: "bad timeout", args: []string{"-timeout", "0s"}, wantCode: 2, want: []string{"-timeout must be positive"}},
		{name: "bad gate", args: []string{"-gate", "-1s"}, wantCode: 2, want: []string{"-gate must be positive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out bytes.Buffer
			code := run(ctx, tc.args, &out, &out, outsidePod)
			t.Logf("run(%q) = %d:\n%s", tc.args, code, out.String())
			if code != tc.wantCode {
				t.Errorf("run(%q) = %d, want %d; output:\n%s", tc.args, code, tc.wantCode, out.String())
			}
			for _, w := range tc.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("run(%q) output lacks %q:\n%s", tc.args, w, out.String())
				}
			}
		})
	}
}

// TestDefaultIstiodNotAsked: with default flags the xds strategy gets no
// istiod address of its own, so that outside a pod it neither probes nor
// looks up istiod's default name, as the library's strategy does not.
func TestDefaultIstiodNotAsked(t *testing.T) {
	c, err := parse(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range strategies(c) {
		if x, ok := s.(xds.Strategy); ok && x.IstiodAddr != "" {
			t.Errorf("xds strategy with default flags has IstiodAddr %q, want \"\" (probed only inside a pod)", x.IstiodAddr)
		}
	}
}
