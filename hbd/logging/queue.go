package logging

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// ErrStuck is returned by a wait for an output's writer (Sync, Reopen,
// Close, a CRIT line) that ran out: the writer is still in a write (or
// behind by more than the wait allows). What was asked is done once it
// returns.
var ErrStuck = errors.New("the log output did not keep up")

// queue hands the lines of one output to its writer goroutine, in order,
// at most its capacity ahead of it. No caller waits for the writer beyond
// a bound: a line that finds the queue full is dropped and counted, and a
// WARN saying how many goes out before the next line written after them
// (or as soon as the writer has caught up). Flushes and reopens are
// requests the writer handles in order with the lines; their callers wait
// for them at most a bound, and a reopen the writer could not be handed
// in time is kept and made as soon as it can. A nil queue writes
// nothing: put reports notQueued, ask runs its function in the caller.
//
// put, ask, stop, retire and revive run under the router's lock (put and
// ask for reading, the others for writing): no line is put once the queue
// is stopped or retired.
type queue struct {
	lines chan *line
	reqs  chan *request
	wake  chan struct{} // a wait ran out: see to the kept changes
	done  chan struct{} // closed when the writer has ended

	write  func(*line)                              // writes one line
	report func(n int, first, last time.Time) *line // formats a drop report
	w      *watch                                   // times each write of the writer

	stopped bool // set by stop, under the router's write lock

	// retiring is set by retire (a reload no longer uses the output)
	// and cleared by revive (a later one uses it again): the writer
	// ends once it has written what is queued, unless revived first.
	// endMu orders the writer's decision to end (ending) with revive.
	retiring atomic.Bool
	endMu    sync.Mutex
	ending   bool
	// givenUp is set by giveUp: a retired output to be written no more.
	givenUp atomic.Bool

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
	pending func() error // a reopen not handed to the writer in time
	pends   atomic.Bool
}

// reqSlots is how many requests may wait for the writer: more is a
// writer that is stuck, and a reopen is then kept instead.
const reqSlots = 4

// An op is what a request asks the writer to do after the lines before
// it.
type op int

const (
	opFlush  op = iota // nothing but the lines before it
	opReopen           // reopen the output; kept when not handed over
)

type request struct {
	fn   func() error
	err  error
	done chan struct{}
}

// putResult is what became of a line given to put.
type putResult int

const (
	notQueued putResult = iota // no writer: the caller writes it
	queued
	dropped // counted (unless own): the queue was full, or the writer is gone and stuck
)

// startQueue starts the writer, which calls first (may be nil) before
// anything else, write for each line, report to format the line that
// says how many were dropped, and last once it has written everything
// and is ending; w (which may be nil) times each of its writes.
func startQueue(capacity int, first func(), write func(*line), report func(int, time.Time, time.Time) *line, last func(), w *watch) *queue {
	q := &queue{
		lines: make(chan *line, capacity), reqs: make(chan *request, reqSlots), wake: make(chan struct{}, 1), done: make(chan struct{}),
		write: write, report: report, w: w,
	}
	go q.run(first, last)
	return q
}

func (q *queue) run(first, last func()) {
	defer close(q.done)
	if first != nil {
		_ = q.guard(func() error { first(); return nil })
	}
	for {
		if q.pends.Load() {
			q.runPending()
		}
		if q.retiring.Load() && q.retired() {
			q.finish(last)
			return
		}
		select {
		case ln, ok := <-q.lines:
			if !ok {
				q.finish(last)
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

// retired reports whether the writer is to end now: retired, and with
// nothing left to write. Once it says so, revive fails.
func (q *queue) retired() bool {
	q.endMu.Lock()
	defer q.endMu.Unlock()
	q.ending = q.retiring.Load() && len(q.lines) == 0
	return q.ending
}

// finish reports what was dropped and not yet said, and ends the output.
func (q *queue) finish(last func()) {
	q.reportDrops()
	q.w.stop()
	if last != nil {
		last()
	}
}

// writeLine writes one line and, when it was the last one queued, the
// report of lines dropped after it.
func (q *queue) writeLine(ln *line) {
	q.w.begin()
	q.write(ln)
	q.w.end()
	ln.release()
	q.unstuck()
	if len(q.lines) == 0 && q.dropping.Load() {
		q.reportDrops()
	}
}

// guard runs fn (a reopen) under the watch.
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
// clears that as soon as it is free (and makes the kept reopen).
func (q *queue) setStuck() {
	q.stuck.Store(true)
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

func (q *queue) runPending() {
	q.pendMu.Lock()
	fn := q.pending
	q.pending = nil
	q.pends.Store(false)
	q.pendMu.Unlock()
	if fn != nil {
		_ = q.guard(fn) // failures are reported by the outputs themselves
	}
}

// put queues ln without waiting for the writer, except that with wait > 0
// (a CRIT line) it waits that long for room when the queue is full.
func (q *queue) put(ln *line, wait time.Duration) putResult {
	if q == nil {
		return notQueued
	}
	if q.stopped || q.retiring.Load() {
		if q.ended() {
			return notQueued
		}
		// Closed or retired while the writer is stuck: writing in
		// the caller would wait for it too.
		q.drop(ln)
		return dropped
	}
	if !ln.own && q.dropping.Load() && !q.putReport() {
		q.drop(ln)
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
	q.drop(ln)
	return dropped
}

// drop counts one line dropped, unless it is one of the logger's own.
func (q *queue) drop(ln *line) {
	if ln.own {
		return
	}
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
	ln.reports, ln.since = q.drops, q.first
	select {
	case q.lines <- ln:
		q.drops = 0
		q.dropping.Store(false)
		return true
	default:
		ln.release()
		return false
	}
}

// reportDrops writes the report of the lines dropped so far, on the
// writer, once everything queued before them is written. An output given
// up is written no more: its count stays for takeDrops.
func (q *queue) reportDrops() {
	if q.givenUp.Load() {
		return
	}
	if n, first, last := q.takeDrops(); n > 0 {
		ln := q.report(n, first, last)
		ln.reports, ln.since = n, first
		q.w.begin()
		q.write(ln)
		q.w.end()
		ln.release()
	}
}

// takeDrops returns the lines dropped and not yet reported, and when the
// first and the latest of them were, and counts them as reported.
func (q *queue) takeDrops() (n int, first, last time.Time) {
	q.dropMu.Lock()
	defer q.dropMu.Unlock()
	n, first, last = q.drops, q.first, q.last
	q.drops = 0
	q.dropping.Store(false)
	return n, first, last
}

// ask hands the writer a request to write every line put before it and
// then run fn (nil: nothing more), without waiting: await waits for it.
// With no writer (a nil queue, or one that has ended) fn runs in the
// caller and ask returns its error with a nil request. A writer known to
// be stuck, or with requests waiting already, is not handed it: ask
// returns ErrStuck, and keeps a reopen to be made once the writer is free.
func (q *queue) ask(o op, fn func() error) (*request, error) {
	run := func() error {
		if fn == nil {
			return nil
		}
		return fn()
	}
	if q == nil {
		return nil, run()
	}
	if q.retiring.Load() && q.ended() {
		return nil, run()
	}
	if q.stopped {
		if !q.ended() {
			// Writing what is queued, then ending: its end is
			// what to wait for, unless a wait ran out already.
			if q.stuck.Load() {
				return nil, ErrStuck
			}
			return &request{done: q.done}, nil
		}
		return nil, run() // after Close: the caller writes, as put's callers do
	}
	if !q.stuck.Load() {
		r := &request{fn: fn, done: make(chan struct{})}
		select {
		case q.reqs <- r:
			return r, nil
		default:
		}
	}
	if o == opReopen {
		q.keep(fn)
	}
	q.setStuck()
	return nil, ErrStuck
}

// await waits for a request of ask until timeout is closed: ErrStuck then
// (the writer still does it, in order).
func (q *queue) await(r *request, timeout <-chan struct{}) error {
	if r == nil {
		return nil
	}
	select {
	case <-r.done:
		return r.err
	case <-q.done:
		select {
		case <-r.done:
			return r.err
		default:
			return nil // ended with the request unread: nothing left to wait for
		}
	case <-timeout:
		q.setStuck()
		return ErrStuck
	}
}

// keep stores a reopen for the writer to make when it is free.
func (q *queue) keep(fn func() error) {
	if fn == nil {
		return
	}
	q.pendMu.Lock()
	q.pending = fn
	q.pends.Store(true)
	q.pendMu.Unlock()
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

// retire has the writer write what is queued and end, unless revive
// comes first, without waiting for it (wait on done). The lines queued
// stay queued: they are the output's, whatever a later reload does.
func (q *queue) retire() {
	q.endMu.Lock()
	q.retiring.Store(true)
	q.endMu.Unlock()
	select { // see to it now, if the writer waits for work
	case q.wake <- struct{}{}:
	default:
	}
}

// shed drops and counts the lines queued, for a retired queue whose
// writer is stuck. A report of lines dropped before stays queued, in
// order: it is the only place their count is said (its lines were
// counted once, and are not counted again). endMu keeps the writer
// from ending while the queue is briefly empty (retired).
func (q *queue) shed() {
	q.endMu.Lock()
	defer q.endMu.Unlock()
	var reports []*line
	stopped := q.empty(func(ln *line) {
		if ln.reports > 0 {
			reports = append(reports, ln)
			return
		}
		q.drop(ln)
		ln.release()
	})
	if stopped {
		return // never a retired output: nothing is put back
	}
	for _, ln := range reports {
		// Room: the queue was just emptied, and nothing is put in
		// a retired one (the router's lock is held).
		q.lines <- ln
	}
}

// giveUp drops and counts the lines queued, for a retired output whose
// writer is to write nothing more to it: the reports of lines dropped
// before too, their count going back to the drops not yet reported
// (which the writer says elsewhere as it ends), and a reopen kept for
// later. A later revive fails. endMu keeps the writer from ending while
// the queue is briefly empty, as in shed.
func (q *queue) giveUp() {
	q.endMu.Lock()
	defer q.endMu.Unlock()
	q.givenUp.Store(true)
	q.empty(func(ln *line) {
		if ln.reports > 0 {
			q.unreport(ln.reports, ln.since)
		} else {
			q.drop(ln)
		}
		ln.release()
	})
	q.pendMu.Lock()
	q.pending = nil
	q.pends.Store(false)
	q.pendMu.Unlock()
}

// empty hands f each line queued until there is none; it reports true
// if the queue was stopped.
func (q *queue) empty(f func(*line)) (stopped bool) {
	for {
		select {
		case ln, ok := <-q.lines:
			if !ok {
				return true
			}
			f(ln)
		default:
			return false
		}
	}
}

// unreport counts again as not reported n lines dropped since since,
// whose report will not be written: they were counted in dropped once.
func (q *queue) unreport(n int, since time.Time) {
	q.dropMu.Lock()
	if q.drops == 0 || since.Before(q.first) {
		q.first = since
	}
	if q.drops == 0 {
		q.last = since
	}
	q.drops += n
	q.dropping.Store(true)
	q.dropMu.Unlock()
}

// revive takes back a retired queue whose writer has not begun to end:
// it goes on writing as if it had never been retired. It reports false
// when the writer ends (or has ended) already, or was given up.
func (q *queue) revive() bool {
	q.endMu.Lock()
	defer q.endMu.Unlock()
	if q.ending || q.givenUp.Load() {
		return false
	}
	q.retiring.Store(false)
	return true
}

// stop has the writer write what is queued and end, without waiting for
// it (wait on done). Later puts report notQueued once it has ended
// (dropped while it has not). Calling it again is harmless.
func (q *queue) stop() {
	if q == nil || q.stopped {
		return
	}
	q.stopped = true
	close(q.lines)
}
