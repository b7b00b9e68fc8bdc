package auto_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/meshmatch/meshmatch/balancer"
	"github.com/meshmatch/meshmatch/internal/calltest"
	"github.com/meshmatch/meshmatch/testing/balancertest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestConcurrentUseWhileSwitching makes calls and reads the state and the
// decision from many goroutines while the connection moves down and up
// between two strategies; run with -race, it checks that calls only ever
// see the supervisor's published snapshots, and that every call lands.
func TestConcurrentUseWhileSwitching(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	bs := balancertest.StartBackends(t, 2)
	a := balancer.Auto{
		Strategies: []balancer.Strategy{balancer.Static{Addrs: []string{bs[0].Addr}}, balancer.Static{Addrs: []string{bs[1].Addr}}},
		Gate:       20 * time.Millisecond, Stable: 20 * time.Millisecond, RedetectInterval: 50 * time.Millisecond,
	}
	conn, err := a.Dial("svc.meshmatch.test:50504",
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{Backoff: backoff.Config{BaseDelay: 10 * time.Millisecond, Multiplier: 1.6, MaxDelay: 50 * time.Millisecond}, MinConnectTimeout: time.Second}))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := calltest.WaitServed(ctx, conn, bs[:1]); err != nil {
		t.Fatal(err)
	}
	stop := hammer(ctx, conn, 4)
	defer stop()
	for range 3 {
		bs[0].Stop()
		if err := calltest.WaitServed(ctx, conn, bs[1:]); err != nil {
			t.Fatalf("after stopping the first backend: %v", err)
		}
		bs[0].Restart(t)
		if err := calltest.WaitServed(ctx, conn, bs[:1]); err != nil {
			t.Fatalf("after restarting the first backend: %v", err)
		}
	}
}

// hammer makes calls and reads the state and the decision of conn from n
// goroutines until the returned function is called.
func hammer(ctx context.Context, conn balancer.Conn, n int) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				_, _ = calltest.GetTicket(ctx, conn)
				_ = conn.GetState()
				_ = conn.(balancer.Reporter).Decision()
			}
		}()
	}
	return func() {
		cancel()
		wg.Wait()
	}
}
