package logging

import (
	"errors"
	"fmt"
	"io"
	"log/syslog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sirupsen/logrus"
)

// Outputs are the log destinations ha.cf chooses; Apply switches them on a
// config reload.
type Outputs struct {
	Logfile   string // ha.cf logfile: every line but debug ones ("" = none)
	Debugfile string // ha.cf debugfile: every line, debug included
	Facility  string // ha.cf logfacility: syslog facility name; "" or "none" = no syslog
	Debug     int    // ha.cf debug: > 0 sends debug lines everywhere; >= 2 enables trace
}

// Options configure a Logger. Only Outputs change after New (with Apply).
type Options struct {
	Outputs
	Program string           // name in front of every line; "heartbeat" if empty
	PID     int              // pid in brackets; os.Getpid() if 0
	Stderr  io.Writer        // fallback output; os.Stderr if nil; with Async, safe for concurrent writes
	Now     func() time.Time // clock for line times; entries keep their own time if nil

	// SyslogNetwork and SyslogAddr are syslog.Dial's target; both empty
	// means the local syslog daemon. Tests point them at a unixgram
	// socket of their own.
	SyslogNetwork, SyslogAddr string

	// Async hands each formatted line to a writer goroutine instead of
	// writing it in the caller (Heartbeat's logd does the same for its
	// daemons): a log file's write or a busy syslog daemon then never
	// holds up the caller, such as the daemon's event loop between the
	// release of an address and the message that lets the peer take it.
	// Nor does an output that stops taking lines (a pipe nobody reads, a
	// syslog daemon that hung, a file on a hung mount): the queue is
	// bounded (QueueLines) and a line that finds it full is dropped and
	// counted, never waited for; a WARN says how many went, in order,
	// once the output takes lines again. Sync, Apply, Reopen and a CRIT
	// line wait for the writer at most FlushWait, Close at most
	// CloseWait; a write that has not returned after StuckAfter is said
	// once on another output (stderr, or syslog when stderr is the one).
	Async bool

	// FlushWait, CloseWait and StuckAfter replace the defaults of the
	// same names when set (tests shorten them).
	FlushWait, CloseWait, StuckAfter time.Duration
}

// QueueLines bounds an Async logger's queue of lines not yet written.
const QueueLines = 1024

// FlushWait is how long Sync, Apply, Reopen and a CRIT line wait for an
// Async logger's writer before they return (ErrStuck; what they asked for
// is still done, in order, once the writer is free). A writer that keeps
// up writes a full queue in 4 to 8 ms (BenchmarkInfoToFileAsync: 4 to 8
// µs a line to a file on a loaded 2-CPU VM); the daemon's loop must not
// stop for more than a fraction of a deadtime (40 ms at the smallest
// settings, 10 ms of it already gone between two heartbeats). After one wait ran out, the next ones do not wait at all
// until the writer has finished its write: a stuck output costs one wait.
// The daemon waits one keepalive instead when that is shorter.
const FlushWait = 10 * time.Millisecond

// CloseWait is how long Close waits for an Async logger's writer to write
// what is queued: the daemon exits after it, its resources released, and
// must exit even when its log output is stuck for good.
const CloseWait = 2 * time.Second

// StuckAfter is how long a write of an Async logger's writer runs before
// it is said, once, on another output.
const StuckAfter = 5 * time.Second

// Logger is the daemon's logger: a *logrus.Logger (pass it on as a
// logrus.FieldLogger) whose lines are written in Heartbeat's format to the
// outputs of Options. Routing, per line:
//
//   - logfile and syslog get every line except debug ones; at Debug > 0
//     they get debug lines too;
//   - debugfile gets every line;
//   - with no logfile, no debugfile and no syslog, stderr gets what logfile
//     would;
//   - a file (or syslog) that cannot be opened or written gets nothing: its
//     lines go to stderr instead, and one WARN on stderr says so; it is
//     tried again on Reopen and every RetryInterval, and an info line on
//     stderr says when it works again.
//
// A log file renamed or removed (logrotate) is noticed on the next line and
// opened again at its path. All methods are safe for concurrent use.
type Logger struct {
	*logrus.Logger
	r *router
}

// Sync waits until every line logged before it has been written (an
// Async logger's queue; a synchronous one has nothing to wait for), at
// most FlushWait: ErrStuck when the writer has not got there by then.
func (l *Logger) Sync() error { return l.r.q.do(opFlush, nil, l.r.flushWait) }

// New returns a Logger writing to the outputs of o. Files that cannot be
// opened do not make it fail (see Logger); an unknown facility name does.
func New(o Options) (*Logger, error) {
	if o.Program == "" {
		o.Program = "heartbeat"
	}
	if o.PID == 0 {
		o.PID = os.Getpid()
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	r := &router{
		form:       Formatter{Program: o.Program, PID: o.PID},
		stderr:     o.Stderr,
		now:        o.Now,
		net:        o.SyslogNetwork,
		addr:       o.SyslogAddr,
		flushWait:  orDefault(o.FlushWait, FlushWait),
		closeWait:  orDefault(o.CloseWait, CloseWait),
		stderrName: "stderr",
		syslogName: "syslog",
	}
	lg := &logrus.Logger{
		// Lines are written by the router hook; Out discards, and
		// the formatter renders nothing for it (see outFormatter).
		Out:       io.Discard,
		Formatter: outFormatter{&r.form},
		Hooks:     make(logrus.LevelHooks),
		Level:     logrus.InfoLevel,
		ExitFunc:  os.Exit,
	}
	lg.AddHook(r)
	if o.Async {
		r.w = newWatch(orDefault(o.StuckAfter, StuckAfter), r.sayStuck)
		r.q = startQueue(QueueLines, r.write, r.dropReport, r.w)
	}
	l := &Logger{Logger: lg, r: r}
	// A stuck output (ErrStuck) does not stop the daemon from starting:
	// the outputs are set up once the writer is free.
	if err := l.Apply(o.Outputs); err != nil && !errors.Is(err, ErrStuck) {
		return nil, err
	}
	return l, nil
}

// Apply switches to new outputs (a config reload). Files whose path did not
// change stay open; new ones are opened before old ones are closed, and no
// line is lost or written half to each set. An unknown facility name is an
// error and changes nothing.
func (l *Logger) Apply(out Outputs) error {
	fac, useSyslog, err := ParseFacility(out.Facility)
	if err != nil {
		return fmt.Errorf("logfacility: %w", err)
	}
	l.Logger.SetLevel(levelFor(out))
	if useSyslog {
		l.r.sysTarget.Store(&fac)
	} else {
		l.r.sysTarget.Store(nil)
	}
	// Made by the writer after the lines logged before: they go to the
	// outputs of their time.
	err = l.r.q.do(opApply, func() error { return l.r.apply(out, fac, useSyslog) }, l.r.flushWait)
	if errors.Is(err, ErrStuck) {
		return fmt.Errorf("new log outputs are used once the current write returns: %w", err)
	}
	return err
}

// outFormatter is a Logger's logrus formatter. After the hooks have
// fired, logrus formats every entry again for Out, its pooled Buffer set:
// the router hook has written the line already and Out discards, so that
// is skipped (a tenth of a microsecond a line, on the caller). Entry.String
// and Entry.Bytes, which format without a Buffer, still get the line.
type outFormatter struct{ f *Formatter }

func (o outFormatter) Format(e *logrus.Entry) ([]byte, error) {
	if e.Buffer != nil {
		return nil, nil
	}
	return o.f.Format(e)
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// levelFor is the most verbose level anything will be written at.
func levelFor(out Outputs) logrus.Level {
	switch {
	case out.Debug >= 2:
		return logrus.TraceLevel
	case out.Debug == 1 || out.Debugfile != "":
		return logrus.DebugLevel
	default:
		return logrus.InfoLevel
	}
}

// Reopen closes and opens every log file again (on SIGHUP, after
// logrotate) and reconnects to syslog if the connection was lost. A file
// that still cannot be opened keeps its lines on stderr; the errors are
// returned joined. The lines logged before it are written first. An
// Async logger waits for its writer at most FlushWait (ErrStuck; the
// files are reopened once the writer is free).
func (l *Logger) Reopen() error {
	err := l.r.q.do(opReopen, l.r.reopen, l.r.flushWait)
	if errors.Is(err, ErrStuck) {
		return fmt.Errorf("log files are reopened once the current write returns: %w", err)
	}
	return err
}

// Close writes what is queued, then closes the files and the syslog
// connection. Lines logged after Close go to stderr. An Async logger
// waits for its writer at most CloseWait: if it is still in a write then,
// Close returns ErrStuck and leaves the outputs to the writer, and lines
// logged after it are dropped (counted) instead.
func (l *Logger) Close() error {
	if !l.r.q.stop(l.r.closeWait) {
		return fmt.Errorf("close log outputs: lines still queued: %w", ErrStuck)
	}
	return l.r.close()
}

// WithTag returns an entry whose lines are written as coming from tag[pid]
// (a resource script, harc, ResourceManager) instead of heartbeat[PID].
func (l *Logger) WithTag(tag string, pid int) *logrus.Entry {
	return WithTag(l.Logger, tag, pid)
}

// WithTag is Logger.WithTag for any logrus.FieldLogger.
func WithTag(fl logrus.FieldLogger, tag string, pid int) *logrus.Entry {
	return fl.WithFields(logrus.Fields{TagKey: tag, TagPIDKey: pid})
}

// Crit logs at Heartbeat's CRIT level and returns: logrus.FatalLevel,
// written without calling the logger's ExitFunc. (logrus's own Fatal still
// logs CRIT and exits.)
func (l *Logger) Crit(args ...any) { Crit(l.Logger, args...) }

// Critf is Crit with a format.
func (l *Logger) Critf(format string, args ...any) { Critf(l.Logger, format, args...) }

// Crit logs args at CRIT (logrus.FatalLevel) on any logrus.FieldLogger
// without exiting.
func Crit(fl logrus.FieldLogger, args ...any) {
	entryOf(fl).Log(logrus.FatalLevel, args...)
}

// Critf is Crit with a format.
func Critf(fl logrus.FieldLogger, format string, args ...any) {
	entryOf(fl).Logf(logrus.FatalLevel, format, args...)
}

func entryOf(fl logrus.FieldLogger) *logrus.Entry {
	switch x := fl.(type) {
	case *logrus.Entry:
		return x
	case *logrus.Logger:
		return logrus.NewEntry(x)
	case *Logger:
		return logrus.NewEntry(x.Logger)
	default:
		return fl.WithFields(nil)
	}
}

// router is the one hook that writes every line to the outputs it is due.
type router struct {
	form      Formatter
	stderr    io.Writer
	now       func() time.Time
	net, addr string
	q         *queue // nil: lines are written in the caller
	w         *watch // times the writer's writes; nil with q

	flushWait, closeWait   time.Duration
	stderrName, syslogName string // what w names them (their addresses are used)
	// sysTarget is the syslog facility while syslog is an output (as of
	// the latest Apply, made yet or not), for saying that stderr is
	// stuck on a connection of its own (the stuck writer holds r.mu).
	sysTarget atomic.Pointer[syslog.Priority]

	mu        sync.Mutex
	out       Outputs
	logfile   *fileOutput
	debugfile *fileOutput
	syslog    *SyslogHook
	facility  syslog.Priority
	closed    bool
}

var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

func (r *router) Levels() []logrus.Level { return logrus.AllLevels }

// Fire formats the entry into a line and writes it, or queues it for the
// writer (Async): the line carries all the writer needs, since logrus
// reuses the entry once Fire returns.
func (r *router) Fire(e *logrus.Entry) error {
	if r.now != nil {
		e.Time = r.now()
	}
	bp := linePool.Get().(*[]byte)
	ln := r.form.record((*bp)[:0], e)
	ln.buf = bp
	if e.Level <= logrus.FatalLevel {
		r.putCrit(ln)
		return nil
	}
	switch r.q.put(ln, 0) {
	case queued:
	case dropped:
		recycle(ln)
	default:
		r.write(ln)
	}
	return nil
}

// putCrit queues a CRIT line, which often comes just before an exit or a
// crash: it waits for room, and then until it is written with all before
// it, at most FlushWait in all.
func (r *router) putCrit(ln line) {
	t0 := time.Now()
	switch r.q.put(ln, r.flushWait) {
	case queued:
		_ = r.q.do(opFlush, nil, max(r.flushWait-time.Since(t0), time.Nanosecond))
	case dropped:
		recycle(ln)
	default:
		r.write(ln)
	}
}

// write routes one line to the outputs and gives its buffer back.
func (r *router) write(ln line) {
	r.mu.Lock()
	r.route(ln)
	r.mu.Unlock()
	recycle(ln)
}

// recycle gives a line's buffer back to the pool.
func recycle(ln line) {
	if ln.buf != nil && cap(ln.text) <= 64<<10 {
		*ln.buf = ln.text[:0]
		linePool.Put(ln.buf)
	}
}

// dropReport is the line that says n lines were dropped between first and
// last: written where they were lost, before the lines after them.
func (r *router) dropReport(n int, first, last time.Time) line {
	bp := linePool.Get().(*[]byte)
	e := &logrus.Entry{Time: r.clock(), Level: logrus.WarnLevel, Message: fmt.Sprintf(
		"Log output did not keep up: %d lines dropped over %s (from %s), the queue of %d lines full",
		n, last.Sub(first).Round(time.Millisecond), first.Format(TimeLayout), QueueLines)}
	ln := r.form.record((*bp)[:0], e)
	ln.buf = bp
	return ln
}

// sayStuck says, on another output than the stuck one, that a write has
// not returned for a while: on stderr, or on syslog (a connection of its
// own) when stderr is the one. It runs on the watch's goroutine, never
// under r.mu, which the stuck writer holds.
func (r *router) sayStuck(what string, stuck time.Duration) {
	e := &logrus.Entry{Time: r.clock(), Level: logrus.WarnLevel, Message: fmt.Sprintf(
		"Log output %s: a write has not returned for %s; lines wait in a queue of %d, then are dropped and counted until it does",
		what, stuck.Round(time.Millisecond), QueueLines)}
	if what != r.stderrName {
		_, _ = r.stderr.Write(r.form.appendLine(nil, e))
		return
	}
	fac := r.sysTarget.Load()
	if fac == nil {
		return // no other output
	}
	w, err := syslog.Dial(r.net, r.addr, *fac|syslog.LOG_WARNING, r.form.Program)
	if err != nil {
		return
	}
	_ = w.Warning(SyslogLine(e))
	_ = w.Close()
}

// route writes one line; r.mu is held. A line goes to stderr when no
// output is configured (and it is not a debug line at debug 0), or when an
// output it was due to could not take it.
func (r *router) route(ln line) {
	debug := ln.level >= logrus.DebugLevel
	main := !debug || r.out.Debug > 0
	none := r.closed || (r.logfile == nil && r.debugfile == nil && r.syslog == nil)
	failed := false
	now := r.clock()
	if r.logfile != nil && main {
		failed = r.writeFile(r.logfile, ln.text, now) || failed
	}
	if r.debugfile != nil {
		failed = r.writeFile(r.debugfile, ln.text, now) || failed
	}
	if r.syslog != nil && main {
		r.w.at(&r.syslogName)
		err := r.syslog.sendText(ln.level, ln.syslogText(), now)
		failed = r.settle(r.syslogName, &r.syslog.failure, err) || failed
	}
	if failed || none && main {
		r.w.at(&r.stderrName)
		_, _ = r.stderr.Write(ln.text)
	}
}

// writeFile writes to one file and reports whether the line must go to
// stderr instead.
func (r *router) writeFile(f *fileOutput, line []byte, now time.Time) bool {
	r.w.at(&f.what)
	return r.settle(f.what, &f.failure, f.write(line, now))
}

// settle does the once-per-episode reporting after a write to an output:
// the first failure is reported with a WARN on stderr, the first success
// after a failure with an info line. It reports whether the write failed.
func (r *router) settle(what string, st *failure, err error) bool {
	if err == nil {
		if st.err != nil || st.reported {
			was := st.reported
			st.succeeded()
			if was {
				r.notice(logrus.InfoLevel, "logging to %s again", what)
			}
		}
		return false
	}
	r.report(what, st)
	return true
}

func (r *router) report(what string, st *failure) {
	if st.reported || st.err == nil {
		return
	}
	st.reported = true
	r.notice(logrus.WarnLevel, "cannot write %s: %v; logging to stderr instead", what, st.err)
}

// notice writes one line of the logger's own to stderr; r.mu is held.
func (r *router) notice(level logrus.Level, format string, args ...any) {
	e := &logrus.Entry{Time: r.clock(), Level: level, Message: fmt.Sprintf(format, args...)}
	r.w.at(&r.stderrName)
	_, _ = r.stderr.Write(r.form.appendLine(nil, e))
}

func (r *router) clock() time.Time {
	if r.now != nil {
		return r.now()
	}
	return time.Now()
}

func (r *router) apply(out Outputs, fac syslog.Priority, useSyslog bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.clock()
	var errs []error
	var old []io.Closer
	reuse := func(cur *fileOutput, path string) *fileOutput {
		if cur != nil && cur.path == path && !r.closed {
			return cur
		}
		if cur != nil {
			old = append(old, closerFunc(cur.close))
		}
		if path == "" {
			return nil
		}
		f := newFileOutput(path, now)
		r.report(f.what, &f.failure)
		return f
	}
	// A path used for both logfile and debugfile is one file: write
	// lines once. Heartbeat would write them twice; nobody wants that.
	if out.Debugfile == out.Logfile {
		out.Debugfile = ""
	}
	logfile := reuse(r.logfile, out.Logfile)
	debugfile := reuse(r.debugfile, out.Debugfile)

	sys := r.syslog
	if sys != nil && (!useSyslog || fac != r.facility || r.closed) {
		old = append(old, sys)
		sys = nil
	}
	if useSyslog && sys == nil {
		sys = &SyslogHook{network: r.net, addr: r.addr, tag: r.form.Program, facility: fac}
		if err := sys.dial(now); err != nil {
			r.report(r.syslogName, &sys.failure)
		}
	}
	r.out, r.logfile, r.debugfile, r.syslog, r.facility, r.closed = out, logfile, debugfile, sys, fac, false
	for _, c := range old {
		if err := c.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

var errClosed = errors.New("logger closed")

type closerFunc func() error

func (f closerFunc) Close() error { return f() }

func (r *router) reopen() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return errClosed
	}
	now := r.clock()
	var errs []error
	for _, f := range []*fileOutput{r.logfile, r.debugfile} {
		if f == nil {
			continue
		}
		if err := f.open(now); err != nil {
			r.report(f.what, &f.failure)
			errs = append(errs, fmt.Errorf("reopen log file: %w", err))
		}
	}
	if r.syslog != nil {
		if err := r.syslog.reconnect(now); err != nil {
			r.report(r.syslogName, &r.syslog.failure)
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (r *router) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	for _, f := range []*fileOutput{r.logfile, r.debugfile} {
		if f != nil {
			errs = append(errs, f.close())
		}
	}
	if r.syslog != nil {
		errs = append(errs, r.syslog.Close())
	}
	r.logfile, r.debugfile, r.syslog, r.closed = nil, nil, nil, true
	r.sysTarget.Store(nil)
	return errors.Join(errs...)
}
