package logging

import "sync"

// queue hands lines to one writer goroutine, in order, at most its
// capacity ahead of it: a caller waits when it is full, and no line is
// dropped. A nil queue writes nothing (put reports false) and its flush
// and stop do nothing.
type queue struct {
	lines chan line
	marks chan chan struct{} // flush marks, answered in order with lines
	done  chan struct{}      // closed when the writer has ended

	mu      sync.RWMutex // held for reading by put, for writing by stop
	stopped bool
}

// startQueue starts the writer, which calls write for each line.
func startQueue(capacity int, write func(line)) *queue {
	q := &queue{lines: make(chan line, capacity), marks: make(chan chan struct{}), done: make(chan struct{})}
	go q.run(write)
	return q
}

func (q *queue) run(write func(line)) {
	defer close(q.done)
	for {
		select {
		case ln, ok := <-q.lines:
			if !ok {
				return
			}
			write(ln)
		case m := <-q.marks:
			// Everything put before the mark is in the channel:
			// write it, then answer.
			for n := len(q.lines); n > 0; n-- {
				write(<-q.lines)
			}
			close(m)
		}
	}
}

// put queues ln; false when there is no writer (nil or stopped): the
// caller writes it itself.
func (q *queue) put(ln line) bool {
	if q == nil {
		return false
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.stopped {
		return false
	}
	q.lines <- ln
	return true
}

// flush waits until every line put before it is written.
func (q *queue) flush() {
	if q == nil {
		return
	}
	q.mu.RLock()
	if q.stopped {
		q.mu.RUnlock()
		return
	}
	m := make(chan struct{})
	q.marks <- m
	q.mu.RUnlock()
	<-m
}

// stop writes what is queued and ends the writer; later puts report
// false. Calling it again is harmless.
func (q *queue) stop() {
	if q == nil {
		return
	}
	q.mu.Lock()
	if !q.stopped {
		q.stopped = true
		close(q.lines)
	}
	q.mu.Unlock()
	<-q.done
}
