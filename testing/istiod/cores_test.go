//go:build istiod

package istiod_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/meshmatch/meshmatch/testing/omtest"
)

// errStoredThenUnavailable is what a faulty core answers after it has run
// the call: the state change happened, the client sees Unavailable (a pod
// that stored a ticket and died before answering looks like this).
var errStoredThenUnavailable = status.Error(codes.Unavailable, "istiod test: call served, then the answer was lost")

// cores are in-memory Open-Match cores on 127.0.0.1…n, one port, behind one
// ServiceEntry. Every call to any of them is counted by method; while
// failing is set, each call runs and is then answered with
// errStoredThenUnavailable.
type cores struct {
	port    int
	failing atomic.Bool

	mu     sync.Mutex
	counts map[string]int   // method → calls
	by     map[string][]int // method → calls per core
}

func startCores(t testing.TB, n int) *cores {
	t.Helper()
	c := &cores{counts: map[string]int{}, by: map[string][]int{}}
	for range 20 {
		if c.tryStart(t, n) {
			return c
		}
	}
	t.Fatalf("no port free on 127.0.0.1-127.0.0.%d for %d cores", n, n)
	return nil
}

// tryStart starts n cores on one free port, or none.
func (c *cores) tryStart(t testing.TB, n int) bool {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	started := make([]*omtest.Server, 0, n)
	for i := range n {
		s, err := omtest.Start(omtest.Config{
			Addr:          net.JoinHostPort(fmt.Sprintf("127.0.0.%d", i+1), strconv.Itoa(port)),
			ServerOptions: []grpc.ServerOption{grpc.ChainUnaryInterceptor(c.intercept(i, n))},
		})
		if err != nil {
			for _, s := range started {
				_ = s.Close()
			}
			return false
		}
		started = append(started, s)
	}
	c.port = port
	for _, s := range started {
		t.Cleanup(func() { _ = s.Close() })
	}
	return true
}

func (c *cores) intercept(core, n int) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
		method := info.FullMethod[strings.LastIndexByte(info.FullMethod, '/')+1:]
		c.mu.Lock()
		c.counts[method]++
		if c.by[method] == nil {
			c.by[method] = make([]int, n)
		}
		c.by[method][core]++
		c.mu.Unlock()
		resp, err := h(ctx, req)
		if c.failing.Load() {
			return nil, errStoredThenUnavailable
		}
		return resp, err
	}
}

// count returns how many calls of method the cores have received.
func (c *cores) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[method]
}

// perCore returns how many calls of method each core has received.
func (c *cores) perCore(method string) []int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]int(nil), c.by[method]...)
}
