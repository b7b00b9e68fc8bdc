package balancer_test

import (
	"context"
	"log/slog"
	"sync"
	"testing"
)

// record is one log record: its message and attributes as strings.
type record struct {
	msg   string
	attrs map[string]string
}

// logEvents is a slog.Handler that keeps every record (debug included) so
// that tests can wait for one, the way fakes signal on channels.
type logEvents struct {
	mu   sync.Mutex
	recs []record
	seen chan struct{} // closed and replaced on every record
}

func newLogEvents() (*slog.Logger, *logEvents) {
	l := &logEvents{seen: make(chan struct{})}
	return slog.New(l), l
}

func (l *logEvents) Enabled(context.Context, slog.Level) bool { return true }
func (l *logEvents) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logEvents) WithGroup(string) slog.Handler            { return l }

func (l *logEvents) Handle(_ context.Context, r slog.Record) error {
	rec := record{msg: r.Message, attrs: map[string]string{}}
	r.Attrs(func(a slog.Attr) bool {
		rec.attrs[a.Key] = a.Value.String()
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, rec)
	close(l.seen)
	l.seen = make(chan struct{})
	return nil
}

// mark returns the index of the next record.
func (l *logEvents) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.recs)
}

// count returns how many records so far match.
func (l *logEvents) count(match func(record) bool) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, r := range l.recs {
		if match(r) {
			n++
		}
	}
	return n
}

// next waits for the first record at or after index *from that matches,
// moves *from past it and returns it.
func (l *logEvents) next(t *testing.T, ctx context.Context, from *int, what string, match func(record) bool) record {
	t.Helper()
	for {
		l.mu.Lock()
		recs, seen := l.recs, l.seen
		l.mu.Unlock()
		for ; *from < len(recs); *from++ {
			if match(recs[*from]) {
				*from++
				return recs[*from-1]
			}
		}
		select {
		case <-seen:
		case <-ctx.Done():
			t.Fatalf("no log record %s before the deadline", what)
		}
	}
}

// msgIs matches records with message msg and the given attributes.
func msgIs(msg string, attrs ...string) func(record) bool {
	return func(r record) bool {
		if r.msg != msg {
			return false
		}
		for i := 0; i+1 < len(attrs); i += 2 {
			if r.attrs[attrs[i]] != attrs[i+1] {
				return false
			}
		}
		return true
	}
}
