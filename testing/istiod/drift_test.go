//go:build istiod

package istiod_test

import (
	"context"
	"fmt"
	"testing"

	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/proto"

	"github.com/meshmatch/meshmatch/omclient"
	"github.com/meshmatch/meshmatch/testing/balancertest"
	"github.com/meshmatch/meshmatch/testing/istiod"
	"github.com/meshmatch/meshmatch/testing/xdstest"
)

// TestDriftFromXDSTest holds the fake istiod to the real one: for the same
// service, every field a gRPC client acts on must be the same in what
// testing/xdstest serves and in what istiod's /debug/config_dump shows it
// sent a proxyless client. A difference fails the test naming the field.
func TestDriftFromXDSTest(t *testing.T) {
	ctx := testContext(t)
	srv := sharedIstiod(t)
	bs := balancertest.StartBackends(t, 2)
	svc := serviceFor(t, srv, "drift", bs)

	real := istiodResources(t, ctx, srv, svc)
	fake := xdstestResources(t, ctx, svc, bs)
	for _, f := range driftFields {
		want, got := f.get(real, svc.Addr()), f.get(fake, svc.Addr())
		switch {
		case sameValue(want, got):
		case f.note:
			t.Logf("note: %s differs (compared above as grpc-go reads it):\n  testing/xdstest serves: %s\n  istiod sends:           %s", f.name, show(got), show(want))
		default:
			t.Errorf("drift in %s for %s:\n  testing/xdstest serves: %s\n  istiod sends:           %s", f.name, svc.Addr(), show(got), show(want))
		}
	}
}

// istiodResources connects a proxyless client to srv, makes one call so
// that istiod has sent it everything, and reads back what istiod sent.
func istiodResources(t *testing.T, ctx context.Context, srv *istiod.Server, svc istiod.Service) istiod.Resources {
	t.Helper()
	pod := uniqueName("drift-pod")
	c := newConn(t, svc.Addr(), omclient.WithStrategy(xdsStrategy(srv, pod)))
	if _, err := omclient.NewFrontend(c).GetTicket(ctx, "t"); err != nil {
		t.Fatalf("GetTicket() through istiod = %v", err)
	}
	dump, err := srv.ConfigDump(ctx, proxyID(pod))
	if err != nil {
		t.Fatalf("%v", err)
	}
	r, err := istiod.ServiceResources(dump, svc.Addr())
	if err != nil {
		t.Fatalf("%v", err)
	}
	return r
}

// xdstestResources sets svc's endpoints on a fresh xdstest server and reads
// what it serves a proxyless client for svc.
func xdstestResources(t *testing.T, ctx context.Context, svc istiod.Service, bs []*balancertest.Backend) istiod.Resources {
	t.Helper()
	fake := xdstest.NewServer(t)
	addrs := make([]string, len(bs))
	for i, b := range bs {
		addrs[i] = b.Addr
	}
	if err := fake.SetEndpoints(svc.Host, svc.Port, addrs...); err != nil {
		t.Fatalf("xdstest SetEndpoints() = %v", err)
	}
	r, err := adsFetch(ctx, t, fake.Addr(), xdstest.DefaultNodeID, svc.Addr())
	if err != nil {
		t.Fatalf("reading xdstest's resources: %v", err)
	}
	return r
}

func sameValue(a, b any) bool {
	am, aok := a.(proto.Message)
	bm, bok := b.(proto.Message)
	if aok && bok {
		return proto.Equal(am, bm)
	}
	return a == b
}

func show(v any) string {
	if m, ok := v.(proto.Message); ok {
		if !m.ProtoReflect().IsValid() {
			return "(none)"
		}
		return "{" + prototext.MarshalOptions{}.Format(m) + "}"
	}
	return fmt.Sprintf("%q", v)
}
