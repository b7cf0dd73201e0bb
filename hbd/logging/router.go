package logging

import (
	"errors"
	"fmt"
	"log/syslog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// router is the one hook that hands every line to the outputs it is due.
type router struct {
	form      Formatter
	now       func() time.Time
	net, addr string
	async     bool

	maxWait               time.Duration // Options.FlushWait or FlushWait
	wait                  atomic.Int64  // the wait now: maxWait, or the keepalive when shorter
	closeWait, stuckAfter time.Duration

	stderr *sink // the fallback, and the output when none is set

	// mu is held for reading while a line is handed to outputs (never
	// while one is written by a writer) and for writing while outputs
	// are switched or closed: no line is handed to an output once it
	// is stopped.
	mu     sync.RWMutex
	rt     *routes
	closed bool

	liveMu sync.Mutex
	live   []*sink // every output whose writer has not ended, stderr first
}

// routes are the outputs of the latest Apply.
type routes struct {
	logfile, debugfile, syslog *sink
	debug                      int  // ha.cf debug
	ms                         bool // an output wants milliseconds: lines are formatted with them
}

// outputs lists the outputs set, stderr aside.
func (rt *routes) outputs() []*sink {
	var out []*sink
	for _, s := range []*sink{rt.logfile, rt.debugfile, rt.syslog} {
		if s != nil {
			out = append(out, s)
		}
	}
	return out
}

// due puts in to the outputs a line of the level is due to and returns
// how many: logfile and syslog get every line but debug ones unless
// debug > 0, debugfile every line, stderr what logfile would when no
// output is set.
func (rt *routes) due(level logrus.Level, stderr *sink, to *[3]*sink) int {
	main := level < logrus.DebugLevel || rt.debug > 0
	n := 0
	if rt.logfile != nil && main {
		to[n] = rt.logfile
		n++
	}
	if rt.debugfile != nil {
		to[n] = rt.debugfile
		n++
	}
	if rt.syslog != nil && main {
		to[n] = rt.syslog
		n++
	}
	if main && rt.logfile == nil && rt.debugfile == nil && rt.syslog == nil {
		to[n] = stderr
		n++
	}
	return n
}

func (r *router) Levels() []logrus.Level { return logrus.AllLevels }

// Fire formats the entry into a line, once, and hands it to each output
// it is due to: queued for their writers (Async) or written. The line
// carries all the writers need, since logrus reuses the entry once Fire
// returns. A CRIT line, which often comes just before an exit or a crash,
// waits for room and then until it is written with all before it, at most
// the wait in all.
func (r *router) Fire(e *logrus.Entry) error {
	if r.now != nil {
		e.Time = r.now()
	}
	crit := e.Level <= logrus.FatalLevel
	var t0 time.Time
	var wait time.Duration
	if crit {
		t0, wait = time.Now(), r.flushWait()
	}
	var to [3]*sink
	r.mu.RLock()
	n := r.rt.due(e.Level, r.stderr, &to)
	if n == 0 {
		r.mu.RUnlock()
		return nil
	}
	ln := newLine(int32(n))
	r.form.record(ln, ln.text[:0], e, r.rt.ms)
	for _, s := range to[:n] {
		var room time.Duration // none but a CRIT line's waits for room
		if crit {
			room = max(wait-time.Since(t0), time.Nanosecond)
		}
		s.deliver(ln, room)
	}
	r.mu.RUnlock()
	if crit {
		_ = r.sync(max(wait-time.Since(t0), time.Nanosecond))
	}
	return nil
}

// toStderr hands stderr a line (one of its refs) that an output could
// not take, or one of the logger's own notices.
func (r *router) toStderr(ln *line) {
	if !r.async {
		r.stderr.write(ln)
		ln.release()
		return
	}
	r.mu.RLock()
	r.stderr.deliver(ln, 0)
	r.mu.RUnlock()
}

// notice says something of the logger's own on stderr.
func (r *router) notice(level logrus.Level, format string, args ...any) {
	e := &logrus.Entry{Time: r.clock(), Level: level, Message: fmt.Sprintf(format, args...)}
	ln := newLine(1)
	ln.own = true
	r.form.record(ln, ln.text[:0], e, false)
	r.toStderr(ln)
}

// dropReport is the line that says n lines were dropped between first and
// last: written where they were lost, before the lines after them.
func (r *router) dropReport(n int, first, last time.Time, ms bool) *line {
	e := &logrus.Entry{Time: r.clock(), Level: logrus.WarnLevel, Message: fmt.Sprintf(
		"Log output did not keep up: %d lines dropped over %s (from %s), the queue of %d lines full",
		n, last.Sub(first).Round(time.Millisecond), first.Format(TimeLayout), QueueLines)}
	ln := newLine(1)
	ln.own = true
	r.form.record(ln, ln.text[:0], e, ms)
	return ln
}

// sayStuck says on the other outputs (stderr when there are none) that a
// write to stuck has not returned for a while. It runs on stuck's watch
// goroutine.
func (r *router) sayStuck(stuck *sink, d time.Duration) {
	r.sayElsewhere(stuck, false, fmt.Sprintf(
		"Log output %s: a write has not returned for %s; lines wait in a queue of %d, then are dropped and counted until it does",
		stuck.name, d.Round(time.Millisecond), QueueLines))
}

// sayGivenUp says on the outputs in use and on stderr how many lines an
// output given up lost (sink.giveUp), since it can say it no more. It
// runs on that output's writer as it ends.
func (r *router) sayGivenUp(s *sink, n int, first, last time.Time) {
	r.sayElsewhere(s, true, fmt.Sprintf(
		"Log output %s given up: no longer in use, and a write to it did not return; %d lines dropped over %s (from %s), not written to it",
		s.name, n, last.Sub(first).Round(time.Millisecond), first.Format(TimeLayout)))
}

// sayElsewhere says msg, a WARN of the logger's own about the output
// about, on the outputs in use but that one, and on stderr as well when
// asked to or when there are none. The line is queued like any other,
// so an output stuck too holds up none of it; an output whose queue is
// full is tried again every sayRetry, sayTries times at most, so that a
// flood of lines that fills every queue does not lose the one line that
// explains it.
func (r *router) sayElsewhere(about *sink, stderr bool, msg string) {
	e := &logrus.Entry{Time: r.clock(), Level: logrus.WarnLevel, Message: msg}
	r.mu.RLock()
	to := slices.DeleteFunc(r.rt.outputs(), func(s *sink) bool { return s == about })
	if (stderr || len(to) == 0) && about != r.stderr {
		to = append(to, r.stderr)
	}
	if len(to) == 0 {
		r.mu.RUnlock()
		return // no other output
	}
	ln := newLine(int32(len(to)))
	ln.own = true
	r.form.record(ln, ln.text[:0], e, r.rt.ms)
	r.mu.RUnlock()
	for try := 0; len(to) > 0; try++ {
		if try > 0 {
			time.Sleep(sayRetry)
		}
		left := to[:0]
		r.mu.RLock()
		for _, s := range to {
			switch s.q.put(ln, 0) {
			case queued:
			case dropped:
				if try < sayTries-1 {
					left = append(left, s)
					continue
				}
				ln.release()
			default: // its writer has ended: closed since
				ln.release()
			}
		}
		r.mu.RUnlock()
		to = left
	}
}

// sayRetry and sayTries bound sayElsewhere's tries at a full queue: a second.
const (
	sayRetry = 10 * time.Millisecond
	sayTries = 100
)

func (r *router) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

// flushWait is how long a caller waits for the writers.
func (r *router) flushWait() time.Duration { return time.Duration(r.wait.Load()) }

// setWait bounds the waits by keepalive when it is shorter than maxWait.
func (r *router) setWait(keepalive time.Duration) {
	w := r.maxWait
	if keepalive > 0 && keepalive < w {
		w = keepalive
	}
	r.wait.Store(int64(w))
}

var errClosed = errors.New("logger closed")

// apply switches the outputs. An output whose path (or facility) did not
// change is kept as it is; a new one is opened by its own writer, and one
// no longer used is closed by its writer once it has written its lines,
// stuck or not: no line is lost, and none is held up by another output.
func (r *router) apply(out Outputs, fac syslog.Priority, useSyslog bool) error {
	r.setWait(out.Keepalive)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	old := map[string]*sink{}
	for _, s := range r.rt.outputs() {
		old[s.key] = s
	}
	take := func(key string, make func() *sink) *sink {
		if s, ok := old[key]; ok {
			delete(old, key)
			return s
		}
		if s := r.revive(key); s != nil {
			return s
		}
		return make()
	}
	// A path used for both logfile and debugfile is one file: write
	// lines once. Heartbeat would write them twice; nobody wants that.
	// It is the debug file: every line, debug ones included.
	if out.Debugfile == out.Logfile {
		out.Logfile = ""
	}
	rt := &routes{debug: out.Debug}
	if p := out.Logfile; p != "" {
		rt.logfile = take("file "+p, func() *sink { return r.newFileSink(p) })
		rt.logfile.ms.Store(false)
	}
	if p := out.Debugfile; p != "" {
		rt.debugfile = take("file "+p, func() *sink { return r.newFileSink(p) })
		rt.debugfile.ms.Store(out.DebugMillis)
		rt.ms = out.DebugMillis
	}
	if useSyslog {
		rt.syslog = take(fmt.Sprintf("syslog %d", fac), func() *sink { return r.newSyslogSink(fac) })
	}
	r.rt = rt
	var errs []error
	for _, s := range old {
		errs = append(errs, s.retire())
	}
	r.shedRetired()
	return errors.Join(errs...)
}

// retiredQueues is how many retired outputs may keep their writers and
// queued lines while stuck in a write: as many as a reload can retire at
// once.
const retiredQueues = 3

// shedRetired bounds what retired outputs hold, whatever the reloads.
// Beyond the retiredQueues opened last, a retired one whose writer is in
// a write is given up if that write can be interrupted (sink.giveUp: a
// FIFO, a pipe, a terminal): the lines queued for it are dropped and
// counted, said on the outputs in use and on stderr, and its writer
// ends. One that cannot be interrupted (a regular file on a hung mount)
// and is stuck (StuckAfter) has the lines queued for it dropped and
// counted (said in it if the write ever returns) instead of kept; its
// writer stays until that write returns, holding one line. A retired
// writer between writes is left to finish. It runs at every Apply and
// whenever a write is found stuck, so a retired output that hangs after
// the last reload is seen to as well. The router's write lock is held.
func (r *router) shedRetired() {
	var retired []*sink
	for _, s := range r.liveSinks() { // oldest first
		if s.q != nil && s.q.retiring.Load() {
			retired = append(retired, s)
		}
	}
	now := time.Now()
	for _, s := range retired[:max(0, len(retired)-retiredQueues)] {
		if !s.w.writing() || s.giveUp() {
			continue
		}
		if what, _ := s.w.stuck(now); what != "" {
			s.q.shed()
		}
	}
}

// revive takes back the output of key that an earlier reload retired,
// if its writer has not ended yet (it is behind, or stuck in a write):
// so a reload back and forth while an output hangs leaves at most one
// writer for it, holding at most one queue of lines, not one per
// reload. The router's write lock is held.
func (r *router) revive(key string) *sink {
	for _, s := range r.liveSinks() {
		if s.key == key && s.q != nil && s.q.retiring.Load() && s.q.revive() {
			return s
		}
	}
	return nil
}

// reopen reopens every output at once, each by its own writer: one that
// is stuck does it once its write returns (ErrStuck, naming it).
func (r *router) reopen() error {
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return errClosed
	}
	outs := r.rt.outputs()
	reqs := make([]*request, len(outs))
	errs := make([]error, len(outs))
	for i, s := range outs {
		reqs[i], errs[i] = s.q.ask(opReopen, s.reopen)
	}
	r.mu.RUnlock()
	expired, stop := deadline(r.flushWait())
	defer stop()
	for i, s := range outs {
		if errs[i] == nil {
			errs[i] = s.q.await(reqs[i], expired)
		}
		if errors.Is(errs[i], ErrStuck) {
			errs[i] = fmt.Errorf("%s is reopened once its current write returns: %w", s.name, ErrStuck)
		}
	}
	return errors.Join(errs...)
}

// sync waits until every output has written the lines logged before it,
// at most wait: the outputs first, then stderr (where the lines they
// could not take went).
func (r *router) sync(wait time.Duration) error {
	expired, stop := deadline(wait)
	defer stop()
	// The outputs a reload replaced too, while they write their last
	// lines.
	outs := slices.DeleteFunc(r.liveSinks(), func(s *sink) bool { return s == r.stderr })
	var errs []error
	for _, phase := range [][]*sink{outs, {r.stderr}} {
		reqs := make([]*request, len(phase))
		asked := make([]error, len(phase))
		r.mu.RLock()
		for i, s := range phase {
			reqs[i], asked[i] = s.q.ask(opFlush, nil)
		}
		r.mu.RUnlock()
		for i, s := range phase {
			err := asked[i]
			if err == nil {
				err = s.q.await(reqs[i], expired)
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// close stops every output, stderr last: each writes what is queued and
// closes, waiting at most wait for them all. Later lines go to stderr,
// written in the caller once its writer has ended (dropped and counted
// while it has not).
func (r *router) close(wait time.Duration) error {
	r.mu.Lock()
	var errs []error
	for _, s := range r.rt.outputs() {
		errs = append(errs, s.retire())
	}
	r.rt, r.closed = &routes{}, true
	r.stderr.q.stop()
	r.mu.Unlock()
	if !r.async {
		return errors.Join(errs...)
	}
	expired, stop := deadline(wait)
	defer stop()
	var stuck []string
	for _, s := range r.liveSinks() {
		select {
		case <-s.q.done:
		case <-expired:
			stuck = append(stuck, s.name)
		}
	}
	if len(stuck) > 0 {
		return fmt.Errorf("close log outputs: lines still queued for %s: %w", strings.Join(stuck, ", "), ErrStuck)
	}
	return nil
}

// deadline returns a channel closed after d, and a function that frees
// its timer.
func deadline(d time.Duration) (<-chan struct{}, func() bool) {
	c := make(chan struct{})
	t := time.AfterFunc(d, func() { close(c) })
	return c, t.Stop
}

func (r *router) addLive(s *sink) {
	r.liveMu.Lock()
	r.live = append(r.live, s)
	r.liveMu.Unlock()
}

func (r *router) removeLive(s *sink) {
	r.liveMu.Lock()
	r.live = slices.DeleteFunc(r.live, func(x *sink) bool { return x == s })
	r.liveMu.Unlock()
}

func (r *router) liveSinks() []*sink {
	r.liveMu.Lock()
	defer r.liveMu.Unlock()
	return slices.Clone(r.live)
}
