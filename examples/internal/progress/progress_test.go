package progress

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestPercentile(t *testing.T) {
	ms := func(ns ...int) []time.Duration {
		out := make([]time.Duration, len(ns))
		for i, n := range ns {
			out[i] = time.Duration(n) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = 100 - i // 100 … 1, unsorted
	}
	for _, tc := range []struct {
		name string
		in   []time.Duration
		p    float64
		want time.Duration
	}{
		{name: "empty", in: nil, p: 50, want: 0},
		{name: "one value", in: ms(7), p: 99, want: 7 * time.Millisecond},
		{name: "p50 of 100", in: ms(hundred...), p: 50, want: 50 * time.Millisecond},
		{name: "p99 of 100", in: ms(hundred...), p: 99, want: 99 * time.Millisecond},
		{name: "p100 is the max", in: ms(3, 9, 1), p: 100, want: 9 * time.Millisecond},
		{name: "nearest rank rounds up", in: ms(1, 2, 3), p: 50, want: 2 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, Percentile(tc.in, tc.p), "Percentile(%v, %v)", tc.in, tc.p)
		})
	}
}

// syncWriter signals each write.
type syncWriter struct {
	mu    sync.Mutex
	lines []string
	wrote chan struct{}
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.lines = append(w.lines, string(p))
	select {
	case w.wrote <- struct{}{}:
	default:
	}
	return len(p), nil
}

func TestEvery(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var c Counters
	c.Created.Add(3)
	c.Assigned.Add(2)
	w := &syncWriter{wrote: make(chan struct{}, 1)}
	stop := Every(w, time.Millisecond, c.String)
	select {
	case <-w.wrote:
	case <-ctx.Done():
		t.Fatal("no progress line written")
	}
	stop()
	stop() // idempotent
	w.mu.Lock()
	defer w.mu.Unlock()
	require.NotEmpty(t, w.lines)
	assert.True(t, strings.HasSuffix(w.lines[0], "created 3  matched 0  assigned 2  released 0  rounds 0\n"), "line = %q", w.lines[0])
}
