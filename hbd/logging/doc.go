// Package logging writes hbd's log the way Heartbeat users read it, through
// logrus:
//
//	heartbeat[1234]: 2012/11/21_15:12:44 info: Link node2:eth0 up.
//	IPaddr2[5678]: 2012/11/21_15:12:45 ERROR: failed rc=1
//
// Program name and pid are fixed when the Logger is made; an entry from
// WithTag (a resource script, harc, ResourceManager) carries its own tag and
// pid in the TagKey and TagPIDKey fields and is written under them. Other
// fields follow the message as " key=value", sorted by key. Times are local,
// in TimeLayout.
//
// Levels: logrus's Debug and Trace print "debug", Info "info", Warn "WARN",
// Error "ERROR". logrus has no critical level, so CRIT is logrus.FatalLevel:
// Crit/Critf (functions and Logger methods) log at FatalLevel with
// Entry.Log, which does not exit. logrus's own Fatal still logs CRIT and then
// calls the logger's ExitFunc (os.Exit) — use it only where exiting is
// meant. PanicLevel prints CRIT too. Syslog severities: CRIT → crit, ERROR →
// err, WARN → warning, info → info, debug → debug.
//
// Outputs follow ha.cf (see Logger for the routing): logfile, debugfile,
// logfacility (syslog, through SyslogHook, which sends "LEVEL: message"
// only, tagged with the program name), stderr when none is set. Files are
// opened O_APPEND|O_CREATE with FileMode 0640 (a FIFO only by an Async
// logger, whose writer waits for its reader instead of the caller); a
// file renamed or removed by logrotate is noticed on the next line (its
// path no longer names the open inode) and opened again, and Reopen
// (SIGHUP) reopens everything at once.
// No output failure stops or blocks the daemon: the lines go to stderr, with
// one WARN per failure.
//
// With Options.Async (the daemon's) a line is formatted once, in the
// caller, and each output (logfile, debugfile, syslog, stderr) has a
// writer goroutine of its own that writes it, in order, as Heartbeat's
// logd writes for its daemons: a slow disk or a busy syslog daemon does
// not hold up the caller, and neither does an output that stops taking
// lines for good (a pipe nobody reads, a syslog daemon that hung, a file
// on a hung mount), which holds up no other output either. Each output's
// queue is bounded (QueueLines); a line that finds it full is dropped
// there and counted, never waited for, and a WARN in that output says how
// many before the next line written to it. The logger's own lines (those
// reports, the notices of failed or stuck outputs) are never counted, so
// they cannot feed on each other. Sync, Reopen and a CRIT line write
// everything logged before them first, waiting for that at most FlushWait
// (or Outputs.Keepalive when shorter): an output that is not stuck
// reopens at once, a stuck one once its write returns. Apply waits for
// no writer; an output it removes writes what is queued and closes,
// unless a later Apply names it again first and takes it back as it is;
// beyond three removed outputs stuck in a write, the older ones are given
// up: their queued lines are dropped and counted (a WARN on the outputs in
// use and on stderr says how many), and their write is interrupted so
// that their writer ends, where the kernel allows it (a FIFO, a pipe, a
// terminal; a regular file's write on a hung mount keeps its writer until
// it returns, and syslog's until the send does). Close writes everything
// queued, waiting at most CloseWait. A write that has not returned after
// StuckAfter is said once on the other outputs. Lines still queued when
// the process dies without Close (a panic, a kill) are lost.
//
// Outputs.DebugMillis gives the debug file's times milliseconds
// (TimeLayoutMillis); every other output keeps Heartbeat's whole seconds.
package logging
