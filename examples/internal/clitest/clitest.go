// Package clitest helps the example commands' tests: an output buffer that
// can be written from many goroutines and waited on, and a closed address.
package clitest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
)

// Output is an io.Writer that keeps everything written to it and wakes those
// waiting for a string. It is safe for concurrent use.
type Output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

// Write appends p.
func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.changed != nil {
		close(o.changed)
		o.changed = nil
	}
	return o.buf.Write(p)
}

// String returns everything written so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// WaitFor waits until the output contains s or ctx is done.
func (o *Output) WaitFor(ctx context.Context, s string) error {
	for {
		o.mu.Lock()
		if strings.Contains(o.buf.String(), s) {
			o.mu.Unlock()
			return nil
		}
		if o.changed == nil {
			o.changed = make(chan struct{})
		}
		ch := o.changed
		o.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("output lacks %q: %w; output:\n%s", s, ctx.Err(), o.String())
		}
	}
}

// ClosedAddr returns a loopback address nothing listens on.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return addr
}

// WordAfter waits until the output contains prefix followed by a word and
// returns that word (up to the next space or line end).
func (o *Output) WordAfter(ctx context.Context, prefix string) (string, error) {
	if err := o.WaitFor(ctx, prefix); err != nil {
		return "", err
	}
	s := o.String()
	rest := s[strings.Index(s, prefix)+len(prefix):]
	if i := strings.IndexAny(rest, " \n"); i >= 0 {
		rest = rest[:i]
	}
	return rest, nil
}
