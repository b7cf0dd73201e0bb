package logging

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStuck is returned by a wait for the writer (Sync, Apply, Reopen,
// Close) that ran out: the writer is still in a write (or behind by more
// than the wait allows). What was asked is done once it returns.
var ErrStuck = errors.New("the log output did not keep up")

// queue hands lines to one writer goroutine, in order, at most its
// capacity ahead of it. No caller waits for the writer beyond a bound: a
// line that finds the queue full is dropped and counted, and a WARN
// saying how many goes out before the next line written after them (or as
// soon as the writer has caught up). Flushes and changes of outputs are
// requests the writer handles in order with the lines; their callers wait
// for them at most a bound, and a change the writer could not be handed
// in time is kept (the latest of each kind) and made as soon as it can.
// A nil queue writes nothing: put reports notQueued, do runs its function
// in the caller.
type queue struct {
	lines chan line
	reqs  chan *request
	wake  chan struct{} // a wait ran out: see to the kept changes
	done  chan struct{} // closed when the writer has ended

	write  func(line)                              // writes one line
	report func(n int, first, last time.Time) line // formats a drop report
	w      *watch                                  // times each write of the writer

	mu      sync.RWMutex // held for reading by put, for writing by stop
	stopped bool

	dropping atomic.Bool   // lines were dropped and not yet reported
	dropped  atomic.Uint64 // lines dropped in all
	dropMu   sync.Mutex
	drops    int
	first    time.Time // of the first drop not yet reported
	last     time.Time // of the latest

	// stuck is set when a wait for the writer ran out and cleared when
	// the writer finishes what it was doing: while set, callers do not
	// wait at all, so an output stuck for good costs each caller one
	// wait, not one per call.
	stuck atomic.Bool

	pendMu  sync.Mutex
	pending [opKinds]func() error // changes not handed to the writer in time
	pends   atomic.Bool
}

// An op is what a request asks the writer to do after the lines before
// it. Changes not handed over in time are made in this order, the latest
// of each kind only: outputs switched, then reopened.
type op int

const (
	opApply op = iota
	opReopen
	opKinds
	opFlush = opKinds // nothing but the lines before it
)

type request struct {
	op   op
	fn   func() error
	err  error
	done chan struct{}
}

// putResult is what became of a line given to put.
type putResult int

const (
	notQueued putResult = iota // no writer: the caller writes it
	queued
	dropped // counted: the queue was full (or the writer is gone and stuck)
)

// startQueue starts the writer, which calls write for each line and report
// to format the line that says how many were dropped; w (which may be
// nil) times each of the writer's writes.
func startQueue(capacity int, write func(line), report func(int, time.Time, time.Time) line, w *watch) *queue {
	q := &queue{
		lines: make(chan line, capacity), reqs: make(chan *request), wake: make(chan struct{}, 1), done: make(chan struct{}),
		write: write, report: report, w: w,
	}
	go q.run()
	return q
}

func (q *queue) run() {
	defer close(q.done)
	for {
		if q.pends.Load() {
			q.runPending()
		}
		select {
		case ln, ok := <-q.lines:
			if !ok {
				q.reportDrops()
				return
			}
			q.writeLine(ln)
		case r := <-q.reqs:
			// Everything put before the request is in the channel:
			// write it, then do what was asked.
			for n := len(q.lines); n > 0; n-- {
				ln, ok := <-q.lines
				if !ok {
					break
				}
				q.writeLine(ln)
			}
			if r.fn != nil {
				r.err = q.guard(r.fn)
			}
			close(r.done)
		case <-q.wake:
			// A caller gave up waiting while the writer was busy (or
			// not yet scheduled): it is free now.
			q.unstuck()
		}
	}
}

// writeLine writes one line and, when it was the last one queued, the
// report of lines dropped after it.
func (q *queue) writeLine(ln line) {
	q.w.begin()
	q.write(ln)
	q.w.end()
	q.unstuck()
	if len(q.lines) == 0 && q.dropping.Load() {
		q.reportDrops()
	}
}

// guard runs fn (a change of outputs) under the watch.
func (q *queue) guard(fn func() error) error {
	q.w.begin()
	err := fn()
	q.w.end()
	q.unstuck()
	return err
}

func (q *queue) unstuck() {
	if q.stuck.Load() {
		q.stuck.Store(false)
	}
}

// setStuck records that a wait ran out, and wakes the writer so that it
// clears that as soon as it is free (and makes the kept changes).
func (q *queue) setStuck() {
	q.stuck.Store(true)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) runPending() {
	q.pendMu.Lock()
	ops := q.pending
	q.pending = [opKinds]func() error{}
	q.pends.Store(false)
	q.pendMu.Unlock()
	for _, fn := range ops {
		if fn != nil {
			_ = q.guard(fn) // failures are reported by the outputs themselves
		}
	}
}

// put queues ln without waiting for the writer, except that with wait > 0
// (a CRIT line) it waits that long for room when the queue is full.
func (q *queue) put(ln line, wait time.Duration) putResult {
	if q == nil {
		return notQueued
	}
	q.mu.RLock()
	defer q.mu.RUnlock()
	if q.stopped {
		if q.ended() {
			return notQueued
		}
		// Closed while the writer is stuck: writing in the caller
		// would wait for it too.
		q.drop()
		return dropped
	}
	if q.dropping.Load() && !q.putReport() {
		q.drop()
		return dropped
	}
	select {
	case q.lines <- ln:
		return queued
	default:
	}
	if wait > 0 && !q.stuck.Load() {
		t := time.NewTimer(wait)
		defer t.Stop()
		select {
		case q.lines <- ln:
			return queued
		case <-t.C:
			q.setStuck()
		}
	}
	q.drop()
	return dropped
}

// drop counts one line dropped.
func (q *queue) drop() {
	now := time.Now()
	q.dropMu.Lock()
	if q.drops == 0 {
		q.first = now
	}
	q.drops++
	q.last = now
	q.dropping.Store(true)
	q.dropMu.Unlock()
	q.dropped.Add(1)
}

// droppedLines is the number of lines dropped since the queue started.
func (q *queue) droppedLines() uint64 {
	if q == nil {
		return 0
	}
	return q.dropped.Load()
}

// putReport queues the report of the lines dropped so far, ahead of the
// line its caller is about to put. It reports false when there is no room
// for both (the drops stay counted).
func (q *queue) putReport() bool {
	if cap(q.lines)-len(q.lines) < 2 {
		return false
	}
	q.dropMu.Lock()
	defer q.dropMu.Unlock()
	if q.drops == 0 {
		return true
	}
	ln := q.report(q.drops, q.first, q.last)
	select {
	case q.lines <- ln:
		q.drops = 0
		q.dropping.Store(false)
		return true
	default:
		return false
	}
}

// reportDrops writes the report of the lines dropped so far, on the
// writer, once everything queued before them is written.
func (q *queue) reportDrops() {
	q.dropMu.Lock()
	n, first, last := q.drops, q.first, q.last
	q.drops = 0
	q.dropping.Store(false)
	q.dropMu.Unlock()
	if n > 0 {
		q.w.begin()
		q.write(q.report(n, first, last))
		q.w.end()
	}
}

// do has the writer write every line put before it and then run fn (nil:
// nothing more), waiting at most wait. When the wait runs out it returns
// ErrStuck; fn is still run by the writer, after the lines before it, or
// (when it could not even be handed over) kept as the latest of its kind
// and run as soon as the writer is free.
func (q *queue) do(o op, fn func() error, wait time.Duration) error {
	if q == nil {
		if fn == nil {
			return nil
		}
		return fn()
	}
	if q.isStopped() {
		if !q.ended() {
			return ErrStuck
		}
		if fn == nil {
			return nil
		}
		return fn() // after Close: the caller writes, as put's callers do
	}
	if q.stuck.Load() {
		q.keep(o, fn)
		q.setStuck()
		return ErrStuck
	}
	r := &request{op: o, fn: fn, done: make(chan struct{})}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case q.reqs <- r:
	case <-q.done:
		if fn == nil {
			return nil
		}
		return fn()
	case <-t.C:
		q.keep(o, fn)
		q.setStuck()
		return ErrStuck
	}
	select {
	case <-r.done:
		return r.err
	case <-t.C:
		q.setStuck()
		return ErrStuck
	}
}

// keep stores a change for the writer to make when it is free.
func (q *queue) keep(o op, fn func() error) {
	if fn == nil || o >= opKinds {
		return
	}
	q.pendMu.Lock()
	q.pending[o] = fn
	q.pends.Store(true)
	q.pendMu.Unlock()
}

func (q *queue) isStopped() bool {
	q.mu.RLock()
	defer q.mu.RUnlock()
	return q.stopped
}

// ended reports whether the writer has ended.
func (q *queue) ended() bool {
	select {
	case <-q.done:
		return true
	default:
		return false
	}
}

// stop has the writer write what is queued and end, waiting at most wait;
// it reports whether the writer ended. Later puts report notQueued once it
// has (dropped while it has not). Calling it again is harmless.
func (q *queue) stop(wait time.Duration) bool {
	if q == nil {
		return true
	}
	q.mu.Lock()
	if !q.stopped {
		q.stopped = true
		close(q.lines)
	}
	q.mu.Unlock()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-q.done:
		q.w.stop()
		return true
	case <-t.C:
		return false
	}
}
