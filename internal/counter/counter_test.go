package counter

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestWaitSeesEvents(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c Counter
	done := make(chan error, 1)
	go func() {
		_, err := c.Wait(ctx, 3)
		done <- err
	}()
	for range 3 {
		c.Add()
	}
	if err := <-done; err != nil {
		t.Fatalf("Wait(3) after 3 events = %v, want nil", err)
	}
	if got := c.Load(); got != 3 {
		t.Errorf("Load() = %d, want 3", got)
	}
}

func TestWaitGivesUpWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var c Counter
	c.Add()
	cancel()
	got, err := c.Wait(ctx, 2)
	if got != 1 || !errors.Is(err, context.Canceled) {
		t.Errorf("Wait(2) = %d, %v; want 1, context.Canceled", got, err)
	}
}
