package logging

import (
	"fmt"
	"io"
	"log/syslog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// sink is one output (a log file, syslog or stderr). With Async it has
// a queue and a writer goroutine of its own: an output that stops taking
// lines holds up, drops and counts its own lines only, and the others
// keep writing everything. Without, its lines are written in the caller.
type sink struct {
	r    *router
	name string // as messages and Health name it: "stderr", "syslog", "log file PATH"
	key  string // the same key is the same output: kept open across Apply
	ms   atomic.Bool
	q    *queue // nil: written in the caller
	w    *watch // times the writer's writes; nil with q

	mu      sync.Mutex // held around every use of the target
	file    *fileOutput
	sys     *SyslogHook
	out     io.Writer // stderr
	scratch []byte    // a line cut to whole seconds
}

func (r *router) newStderrSink(w io.Writer) *sink {
	s := &sink{r: r, name: "stderr", key: "stderr", out: w}
	r.start(s, nil)
	return s
}

func (r *router) newFileSink(path string) *sink {
	s := &sink{r: r, name: "log file " + path, key: "file " + path, file: &fileOutput{path: path, what: "log file " + path, pipes: r.async}}
	r.start(s, s.open)
	return s
}

func (r *router) newSyslogSink(fac syslog.Priority) *sink {
	s := &sink{r: r, name: "syslog", key: fmt.Sprintf("syslog %d", fac),
		sys: &SyslogHook{network: r.net, addr: r.addr, tag: r.form.Program, facility: fac}}
	r.start(s, s.open)
	return s
}

// start gives an Async logger's sink its writer, which runs open first;
// a synchronous one's open runs at once.
func (r *router) start(s *sink, open func()) {
	if !r.async {
		r.addLive(s)
		if open != nil {
			open()
		}
		return
	}
	s.w = newWatch(r.stuckAfter, s.name, func(_ string, d time.Duration) {
		r.sayStuck(s, d)
		// A retired output stuck since the last reload is given
		// up now if it is one too many (shedRetired).
		r.mu.Lock()
		r.shedRetired()
		r.mu.Unlock()
	})
	report := func(n int, first, last time.Time) *line { return r.dropReport(n, first, last, s.ms.Load()) }
	s.q = startQueue(QueueLines, open, s.write, report, s.end, s.w)
	r.addLive(s) // once complete: Health reads it (its writer ends only once stopped)
}

// deliver hands ln (one of its refs) to the output: queued, or dropped
// and counted, or written in the caller when there is no writer. With
// wait > 0 (a CRIT line) it waits that long for room in a full queue.
func (s *sink) deliver(ln *line, wait time.Duration) {
	switch s.q.put(ln, wait) {
	case queued:
	case dropped:
		ln.release()
	default:
		s.write(ln)
		ln.release()
	}
}

// write writes one line to the output. A line it could not take goes to
// stderr instead, once however many outputs failed it.
func (s *sink) write(ln *line) {
	s.mu.Lock()
	now := s.r.clock()
	var err error
	switch {
	case s.file != nil:
		err = s.file.write(ln.textFor(s.ms.Load(), &s.scratch), now)
		if err != nil && s.q != nil && s.q.givenUp.Load() {
			// Interrupted (giveUp): the line is lost, not failed
			// over to stderr, and counted with the others (a
			// report's lines, which were counted, go back to the
			// count to say).
			s.mu.Unlock()
			if ln.reports > 0 {
				s.q.unreport(ln.reports, ln.since)
			} else {
				s.q.drop(ln)
			}
			return
		}
		err = s.settle(&s.file.failure, err)
	case s.sys != nil:
		err = s.settle(&s.sys.failure, s.sys.sendText(ln.level, ln.syslogText(), now))
	default:
		_, _ = s.out.Write(ln.textFor(false, &s.scratch))
	}
	s.mu.Unlock()
	if err != nil && ln.fellBack.CompareAndSwap(false, true) {
		ln.refs.Add(1)
		s.r.toStderr(ln)
	}
}

// open opens the output (its writer's first work); a failure is said on
// stderr and its lines go there until it works.
func (s *sink) open() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.r.clock()
	switch {
	case s.file != nil:
		if s.file.open(now) != nil {
			s.report(&s.file.failure)
		}
	case s.sys != nil:
		if s.sys.dial(now) != nil {
			s.report(&s.sys.failure)
		}
	}
}

// reopen closes and opens a file again, or connects to syslog again if
// the connection was lost.
func (s *sink) reopen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.r.clock()
	switch {
	case s.file != nil:
		if err := s.file.open(now); err != nil {
			s.report(&s.file.failure)
			return fmt.Errorf("reopen log file: %w", err)
		}
	case s.sys != nil:
		if err := s.sys.reconnect(now); err != nil {
			s.report(&s.sys.failure)
			return err
		}
	}
	return nil
}

// end closes the output (its writer's last work, once what was queued
// is written).
func (s *sink) end() {
	s.r.removeLive(s)
	s.mu.Lock()
	switch {
	case s.file != nil:
		_ = s.file.close()
	case s.sys != nil:
		_ = s.sys.Close()
	}
	s.mu.Unlock()
	if s.q != nil && s.q.givenUp.Load() {
		if n, first, last := s.q.takeDrops(); n > 0 {
			s.r.sayGivenUp(s, n, first, last)
		}
	}
}

// giveUp ends a retired output whose writer is in a write that does not
// return: what is queued for it is dropped and counted (queue.giveUp),
// the write is interrupted, and the writer ends, saying elsewhere how
// many lines the output lost (end). Only a log file the runtime polls
// (a FIFO, a pipe, a terminal) can be interrupted: for any other output
// (a regular file on a hung mount, whose write returns only when the
// mount answers; syslog, which log/syslog keeps locked through a send)
// it reports false and changes nothing. The router's write lock is held.
func (s *sink) giveUp() bool {
	if s.q == nil || s.file == nil {
		return false
	}
	if s.q.givenUp.Load() {
		return true
	}
	if !s.file.interruptible() {
		return false
	}
	s.q.giveUp()
	s.file.interrupt()
	return true
}

// retire stops an output that is no longer used: its writer writes what
// is queued, then closes it, unless a later reload takes it back first
// (revive); without a writer it is closed at once. The router's write
// lock is held.
func (s *sink) retire() error {
	if s.q != nil {
		s.q.retire()
		return nil
	}
	s.r.removeLive(s)
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.file != nil:
		return s.file.close()
	case s.sys != nil:
		return s.sys.Close()
	}
	return nil
}

// settle does the once-per-episode reporting after a write: the first
// failure is said with a WARN on stderr, the first success after a
// failure with an info line. It returns err.
func (s *sink) settle(st *failure, err error) error {
	if err == nil {
		if st.err != nil || st.reported {
			was := st.reported
			st.succeeded()
			if was {
				s.r.notice(logrus.InfoLevel, "logging to %s again", s.name)
			}
		}
		return nil
	}
	s.report(st)
	return err
}

func (s *sink) report(st *failure) {
	if st.reported || st.err == nil {
		return
	}
	st.reported = true
	s.r.notice(logrus.WarnLevel, "cannot write %s: %v; logging to stderr instead", s.name, st.err)
}

// health is what Health says of the output: nothing (ok false) when it
// dropped nothing and no write is stuck.
func (s *sink) health(now time.Time) (h OutputHealth, ok bool) {
	d := s.q.droppedLines()
	what, since := s.w.stuck(now)
	if d == 0 && what == "" {
		return h, false
	}
	return OutputHealth{Output: s.name, Dropped: d, StuckSince: since}, true
}
