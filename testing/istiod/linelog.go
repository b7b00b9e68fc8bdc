//go:build istiod

package istiod

import (
	"bytes"
	"strings"
	"sync"
)

// maxLogLines bounds how many lines of a process's output are kept.
const maxLogLines = 20000

// lineLog collects a process's output as lines and wakes waiters on each
// new line.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	dropped int
	changed chan struct{}
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

// Write implements io.Writer.
func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.partial = append(l.partial, p...)
	added := false
	for {
		i := bytes.IndexByte(l.partial, '\n')
		if i < 0 {
			break
		}
		l.lines = append(l.lines, string(l.partial[:i]))
		l.partial = l.partial[i+1:]
		added = true
	}
	if n := len(l.lines) - maxLogLines; n > 0 {
		l.lines = append([]string(nil), l.lines[n:]...)
		l.dropped += n
	}
	if added {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// find returns the first line at absolute index from or later that contains
// substr (or -1), the line itself, and a channel closed on the next write.
func (l *lineLog) find(from int, substr string) (int, string, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := max(from-l.dropped, 0); i < len(l.lines); i++ {
		if strings.Contains(l.lines[i], substr) {
			return i + l.dropped, l.lines[i], l.changed
		}
	}
	return -1, "", l.changed
}

// tail returns the last n lines.
func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines[max(len(l.lines)-n, 0):]
	return strings.Join(lines, "\n")
}
