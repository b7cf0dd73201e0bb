package logging

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/sirupsen/logrus"
)

// Outputs are the logging settings ha.cf chooses; Apply switches them on
// a config reload.
type Outputs struct {
	Logfile   string // ha.cf logfile: every line but debug ones ("" = none)
	Debugfile string // ha.cf debugfile: every line, debug included
	Facility  string // ha.cf logfacility: syslog facility name; "" or "none" = no syslog
	Debug     int    // ha.cf debug: > 0 sends debug lines everywhere; >= 2 enables trace

	// DebugMillis (ha.cf debugfile_ms) gives the debug file's times
	// milliseconds, TimeLayoutMillis; the other outputs keep whole
	// seconds, Heartbeat's format.
	DebugMillis bool

	// Keepalive, when shorter than the Async logger's FlushWait, bounds
	// every wait for its writers instead: the daemon's loop, which
	// sends a heartbeat every keepalive, must not stop for longer.
	Keepalive time.Duration
}

// ToStderr says whether these outputs leave the log on stderr: with no
// logfile, debugfile nor syslog facility, every line but debug ones
// goes there.
func (o Outputs) ToStderr() bool {
	_, useSyslog, err := ParseFacility(o.Facility)
	return o.Logfile == "" && o.Debugfile == "" && (!useSyslog || err != nil)
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

	// Async hands each formatted line to a writer goroutine per output
	// instead of writing it in the caller (Heartbeat's logd does the
	// same for its daemons): a log file's write or a busy syslog daemon
	// then never holds up the caller, such as the daemon's event loop
	// between the release of an address and the message that lets the
	// peer take it. Nor does an output that stops taking lines (a pipe
	// nobody reads, a syslog daemon that hung, a file on a hung mount),
	// and it holds up no other output either: each output's queue is
	// bounded (QueueLines) and a line that finds it full is dropped and
	// counted there, never waited for; a WARN in that output says how
	// many went, in order, once it takes lines again. Sync, Reopen and a
	// CRIT line wait for the writers at most FlushWait, Close at most
	// CloseWait; a write that has not returned after StuckAfter is said
	// once on the other outputs (stderr when there are none).
	Async bool

	// FlushWait, CloseWait and StuckAfter replace the defaults of the
	// same names when set (tests shorten them).
	FlushWait, CloseWait, StuckAfter time.Duration
}

// QueueLines bounds the queue of lines not yet written of each output of
// an Async logger.
const QueueLines = 1024

// FlushWait is how long Sync, Reopen and a CRIT line wait for an Async
// logger's writers before they return (ErrStuck; what they asked for is
// still done, in order, once the writer is free). A writer that keeps
// up writes a full queue in 4 to 8 ms (BenchmarkInfoToFileAsync: 4 to 8
// µs a line to a file on a loaded 2-CPU VM); the daemon's loop must not
// stop for more than a fraction of a deadtime (40 ms at the smallest
// settings, 10 ms of it already gone between two heartbeats). After one wait ran out, the next ones do not wait at all
// until the writer has finished its write: a stuck output costs one wait.
// Outputs.Keepalive bounds it when shorter.
const FlushWait = 10 * time.Millisecond

// CloseWait is how long Close waits for an Async logger's writers to
// write what is queued: the daemon exits after it, its resources released, and
// must exit even when its log output is stuck for good.
const CloseWait = 2 * time.Second

// StuckAfter is how long a write of an Async logger's writer runs before
// it is said, once, on the other outputs.
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
// Async logger's queues; a synchronous one has nothing to wait for), at
// most FlushWait: ErrStuck, naming the outputs, when a writer has not got
// there by then.
func (l *Logger) Sync() error { return l.r.sync(l.r.flushWait()) }

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
		now:        o.Now,
		net:        o.SyslogNetwork,
		addr:       o.SyslogAddr,
		async:      o.Async,
		maxWait:    orDefault(o.FlushWait, FlushWait),
		closeWait:  orDefault(o.CloseWait, CloseWait),
		stuckAfter: orDefault(o.StuckAfter, StuckAfter),
		rt:         &routes{},
	}
	r.stderr = r.newStderrSink(o.Stderr)
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
	l := &Logger{Logger: lg, r: r}
	if err := l.Apply(o.Outputs); err != nil {
		_ = l.Close()
		return nil, err
	}
	return l, nil
}

// Apply switches to new settings (a config reload). Files whose path did
// not change stay open; the lines logged before it go to the outputs of
// their time, those after it to the new ones, and no line is lost or
// written half to each set. An Async logger's new outputs are opened by
// their own writers and its old ones closed by theirs once written, so
// Apply waits for none of them, stuck or not. An unknown facility name
// is an error and changes nothing.
func (l *Logger) Apply(out Outputs) error {
	fac, useSyslog, err := ParseFacility(out.Facility)
	if err != nil {
		return fmt.Errorf("logfacility: %w", err)
	}
	l.Logger.SetLevel(levelFor(out))
	return l.r.apply(out, fac, useSyslog)
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
// Async logger's outputs reopen at once, each by its writer; one whose
// writer is stuck in a write reopens once it returns (ErrStuck, naming
// it), and Reopen waits for it at most FlushWait.
func (l *Logger) Reopen() error { return l.r.reopen() }

// Close writes what is queued, then closes the files and the syslog
// connection. Lines logged after Close go to stderr. An Async logger
// waits for its writers at most CloseWait: if one is still in a write
// then, Close returns ErrStuck and leaves the output to its writer, and
// lines logged after it are dropped (counted) instead until stderr's
// writer has ended.
func (l *Logger) Close() error { return l.r.close(l.r.closeWait) }

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
