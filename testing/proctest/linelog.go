package proctest

import (
	"bytes"
	"strings"
	"sync"
)

// maxLines bounds how many lines of a process's output are kept; older lines
// are dropped but still counted, so line indexes stay absolute.
const maxLines = 20000

// lineLog is an io.Writer that keeps what a process prints as lines and
// signals every write, so that tests wait on output instead of sleeping.
type lineLog struct {
	mu      sync.Mutex
	partial []byte
	lines   []string
	dropped int           // lines dropped from the front
	changed chan struct{} // closed and replaced on every complete line
}

func newLineLog() *lineLog { return &lineLog{changed: make(chan struct{})} }

// Write appends p's complete lines.
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
	if n := len(l.lines) - maxLines; n > 0 {
		l.lines = append([]string(nil), l.lines[n:]...)
		l.dropped += n
	}
	if added {
		close(l.changed)
		l.changed = make(chan struct{})
	}
	return len(p), nil
}

// count returns the number of complete lines written so far.
func (l *lineLog) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.dropped + len(l.lines)
}

// find returns the absolute index of the first line at index from or later
// that contains substr (or -1), the line, and a channel closed on the next
// complete line.
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

// tail returns the last n lines (all kept lines when n <= 0), and the
// unterminated rest.
func (l *lineLog) tail(n int) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	lines := l.lines
	if n > 0 {
		lines = lines[max(len(lines)-n, 0):]
	}
	s := strings.Join(lines, "\n")
	if len(l.partial) > 0 {
		s += "\n" + string(l.partial)
	}
	return s
}
