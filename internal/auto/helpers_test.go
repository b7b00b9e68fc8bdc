package auto_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/auto"
	"github.com/meshmatch/meshmatch/internal/counter"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

const testAddr = "svc.meshmatch.test:50504"

// testContext bounds a test's waits.
func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// backend is a chain element that dials one test backend through
// balancer.Static and counts the Close calls of its connections. onClose,
// when set, runs after each Close.
type backend struct {
	name    string
	b       *balancertest.Backend
	opts    []grpc.DialOption
	closes  counter.Counter
	onClose func(name string)
}

func (s *backend) strategy() auto.Strategy {
	return auto.Strategy{
		Name: s.name,
		Detect: func(context.Context) auto.Detection {
			return auto.Detection{Strategy: s.name, Available: true, Reason: "test backend " + s.b.Name, At: time.Now()}
		},
		Dial: func() (auto.Dialed, error) {
			opts := append([]grpc.DialOption{
				grpc.WithTransportCredentials(insecure.NewCredentials()),
				grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.6, MaxDelay: 50 * time.Millisecond}, MinConnectTimeout: time.Second}),
			}, s.opts...)
			c, err := balancer.Static{Addrs: []string{s.b.Addr}}.Dial(testAddr, opts...)
			if err != nil {
				return nil, err
			}
			return &countedConn{Conn: c, s: s}, nil
		},
	}
}

// countedConn counts its Close calls on its strategy.
type countedConn struct {
	balancer.Conn
	s *backend
}

func (c *countedConn) Close() error {
	err := c.Conn.Close()
	c.s.closes.Add()
	if c.s.onClose != nil {
		c.s.onClose(c.s.name)
	}
	return err
}

// decisions records a connection's decisions for tests to wait on.
type decisions struct {
	mu   sync.Mutex
	all  []auto.Decision
	seen counter.Counter
}

func (d *decisions) add(dec auto.Decision) {
	d.mu.Lock()
	d.all = append(d.all, dec)
	d.mu.Unlock()
	d.seen.Add()
}

// list returns the decisions so far.
func (d *decisions) list() []auto.Decision {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]auto.Decision(nil), d.all...)
}

// wait waits for the next decision of kind for strategy after the first
// from decisions, and returns its index.
func (d *decisions) wait(t *testing.T, ctx context.Context, from int, kind, strategy string) int {
	t.Helper()
	for n := from; ; n++ {
		if _, err := d.seen.Wait(ctx, int64(n+1)); err != nil {
			t.Fatalf("no %s decision for %s: decisions %+v: %v", kind, strategy, d.list(), err)
		}
		if dec := d.list()[n]; dec.Kind == kind && dec.Strategy == strategy {
			return n
		}
	}
}

// testRedetect is the tests' Redetect.
const testRedetect = 50 * time.Millisecond

// newConn starts a connection over chain with the tests' short timings.
func newConn(t *testing.T, decs *decisions, gate, stable time.Duration, chain ...*backend) *auto.Conn {
	cfg := auto.Config{
		Addr: testAddr, Gate: gate, DetectTimeout: time.Second,
		Redetect: testRedetect, Stable: stable,
		Logger: slog.New(slog.DiscardHandler), OnDecision: decs.add,
	}
	for _, s := range chain {
		cfg.Chain = append(cfg.Chain, s.strategy())
	}
	c := auto.New(cfg)
	t.Cleanup(func() { c.Close() })
	return c
}
