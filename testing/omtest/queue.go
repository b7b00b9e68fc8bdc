package omtest

import "sync"

// queue is an unbounded FIFO with one consumer: producers never block, so a
// slow evaluator or caller cannot stall the goroutine that feeds it.
type queue[T any] struct {
	mu     sync.Mutex
	items  []T
	closed bool
	ready  chan struct{} // holds a token while items or the close are unseen
}

func newQueue[T any]() *queue[T] { return &queue[T]{ready: make(chan struct{}, 1)} }

// push appends v; it reports false once the queue is closed.
func (q *queue[T]) push(v T) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return false
	}
	q.items = append(q.items, v)
	q.poke()
	return true
}

// close makes the consumer see the end once it has taken every item.
func (q *queue[T]) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	q.poke()
}

func (q *queue[T]) poke() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// take returns the queued items and whether the queue is closed.
func (q *queue[T]) take() ([]T, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	items := q.items
	q.items = nil
	return items, q.closed
}
