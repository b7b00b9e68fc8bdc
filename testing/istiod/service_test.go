//go:build istiod

package istiod_test

import (
	"context"
	"strings"
	"testing"

	"github.com/meshmatch/meshmatch/testing/istiod"
)

// TestSetServiceBadInput needs no binary: bad services are refused before
// anything is written, and a refused one leaves the earlier file in place.
func TestSetServiceBadInput(t *testing.T) {
	srv, err := istiod.New("/nonexistent/pilot-discovery")
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(srv.Close)
	good := istiod.Service{Name: "good", Host: "good.open-match.svc.cluster.local", Port: 50504, Endpoints: []string{"127.0.0.1", "127.0.0.2:7000"}}
	if err := srv.SetService(good); err != nil {
		t.Fatalf("SetService(good) = %v", err)
	}
	for _, tc := range []struct {
		name string
		svc  istiod.Service
		want string
	}{
		{name: "name not a label", svc: istiod.Service{Name: "Bad_Name", Host: good.Host, Port: 1}, want: "not a DNS label"},
		{name: "short host", svc: istiod.Service{Name: "good", Host: "good", Port: 1}, want: "not a fully qualified name"},
		{name: "host with yaml", svc: istiod.Service{Name: "good", Host: "a.b.c, evil", Port: 1}, want: "not a fully qualified name"},
		{name: "port 0", svc: istiod.Service{Name: "good", Host: good.Host}, want: "bad port"},
		{name: "non-loopback endpoint", svc: istiod.Service{Name: "good", Host: good.Host, Port: 1, Endpoints: []string{"10.0.0.1"}}, want: "not a loopback address"},
		{name: "endpoint port", svc: istiod.Service{Name: "good", Host: good.Host, Port: 1, Endpoints: []string{"127.0.0.1:0"}}, want: "bad port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := srv.SetService(tc.svc)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "istiod: ") {
				t.Errorf("SetService(%+v) = %v, want an istiod: error containing %q", tc.svc, err, tc.want)
			}
		})
	}
	if err := srv.RemoveService("good"); err != nil {
		t.Errorf("RemoveService(good) after refused updates = %v, want the first file still there", err)
	}
	if err := srv.RemoveService("../x"); err == nil {
		t.Errorf("RemoveService(../x) = nil, want an error")
	}
}

// TestStartWithoutBinary needs no binary: Start names what is missing.
func TestStartWithoutBinary(t *testing.T) {
	srv, err := istiod.New("/nonexistent/pilot-discovery")
	if err != nil {
		t.Fatalf("New() = %v", err)
	}
	t.Cleanup(srv.Close)
	if err := srv.Start(context.Background()); err == nil || !strings.Contains(err.Error(), "/nonexistent/pilot-discovery") {
		t.Errorf("Start() = %v, want an error naming the binary", err)
	}
	if srv.Running() {
		t.Errorf("Running() after a failed Start = true")
	}
}
