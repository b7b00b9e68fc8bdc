package dnsresolver

import (
	"context"
	"net"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestLookupCancelReleasesGoroutines asks a DNS server that reads queries but
// never answers, cancels the lookup, and checks that nothing is left waiting
// for the answer.
func TestLookupCancelReleasesGoroutines(t *testing.T) {
	before := goleak.IgnoreCurrent()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{}, 8)
	silent := make(chan struct{})
	go func() {
		defer close(silent)
		buf := make([]byte, 512)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			got <- struct{}{}
		}
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	lctx, lcancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		_, err := NewLookup(pc.LocalAddr().String())(lctx, "silent.meshmatch.test")
		done <- err
	}()
	select {
	case <-got:
	case <-ctx.Done():
		t.Fatal("the lookup never reached the DNS server")
	}
	lcancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("lookup() = nil error after cancel, want an error")
		}
	case <-ctx.Done():
		t.Fatal("lookup did not return after cancel")
	}
	pc.Close()
	<-silent
	goleak.VerifyNone(t, before)
}
