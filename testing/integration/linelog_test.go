//go:build integration

package integration

import (
	"bytes"
	"strings"
	"sync"
)

// lineLog is an io.Writer that keeps what a process prints as lines and
// signals every write, so that tests wait on output instead of sleeping.
type lineLog struct {
	mu      sync.Mutex
	lines   []string
	partial []byte
	changed chan struct{} // closed and replaced on every write
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

// Write appends p's complete lines.
func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
	}
	close(l.changed)
	l.changed = make(chan struct{})
	return len(p), nil
}

// len returns the number of complete lines so far.
func (l *lineLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.lines)
}

// find returns the index of the first line at or after from that contains
// substr, or -1 and a channel closed on the next write.
func (l *lineLog) find(from int, substr string) (int, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := max(from, 0); i < len(l.lines); i++ {
		if strings.Contains(l.lines[i], substr) {
			return i, nil
		}
	}
	return -1, l.changed
}

// String returns everything printed so far.
func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return strings.Join(l.lines, "\n") + "\n" + string(l.partial)
}
