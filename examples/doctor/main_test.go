package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/meshmatch/meshmatch/testing/dnstest"
	"github.com/meshmatch/meshmatch/testing/istiotest"
	"github.com/meshmatch/meshmatch/testing/xdstest"
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

func TestRun(t *testing.T) {
	agent := istiotest.NewAgent(t)
	dns := dnstest.NewServer(t)
	dns.Set("frontend.meshmatch.test", "127.0.0.1", "127.0.0.2")
	nothing := closedAddr(t)
	istiod := xdstest.NewServer(t)
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		want     []string
	}{
		{
			name:     "sidecar",
			args:     []string{"-addr", "frontend.meshmatch.test:50504", "-dns-server", dns.Addr(), "-sidecar-probe", agent.Addr(), "-sidecar-admin", nothing, "-istiod", nothing},
			wantCode: 0,
			want:     []string{"resolves to [127.0.0.1 127.0.0.2]", "sidecar:  available", "auto would use: sidecar"},
		},
		{
			name:     "headless",
			args:     []string{"-addr", "frontend.meshmatch.test:50504", "-dns-server", dns.Addr(), "-sidecar-probe", nothing, "-sidecar-admin", nothing, "-istiod", nothing},
			wantCode: 0,
			want:     []string{"sidecar:  not available", "no istio agent", "auto would use: headless"},
		},
		{
			name:     "unknown name",
			args:     []string{"-addr", "missing.meshmatch.test:50504", "-dns-server", dns.Addr(), "-sidecar-probe", nothing, "-sidecar-admin", nothing, "-istiod", nothing},
			wantCode: 0,
			want:     []string{"missing.meshmatch.test does not resolve", "auto would use: headless"},
		},
		{
			name:     "proxyless",
			args:     []string{"-addr", "frontend.meshmatch.test:50504", "-dns-server", dns.Addr(), "-sidecar-probe", nothing, "-sidecar-admin", nothing, "-istiod", istiod.Addr()},
			wantCode: 0,
			want:     []string{"sidecar:  not available", "xds:      available", "auto would use: xds"},
		},
		{name: "invalid address", args: []string{"-addr", "no-port"}, wantCode: 1, want: []string{"-addr: invalid address"}},
		{name: "bad flag", args: []string{"-nope"}, wantCode: 2, want: []string{"flag provided but not defined"}},
		{name: "extra argument", args: []string{"extra"}, wantCode: 2, want: []string{"unexpected arguments"}},
		{name: "bad timeout", args: []string{"-timeout", "0s"}, wantCode: 2, want: []string{"-timeout must be positive"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			var out bytes.Buffer
			code := run(ctx, tc.args, &out, &out)
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
