package logging

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync/atomic"
	"syscall"
	"time"
)

// FileMode is the mode a log file is created with (before the umask).
// Group-readable, not world-readable: resource scripts log addresses,
// node names and their own errors, which other users have no business
// reading; add the admin group with logrotate's `create 0640 root adm`.
const FileMode fs.FileMode = 0o640

// RetryInterval is how often a log file or syslog connection that failed is
// tried again on its own; Reopen (SIGHUP) tries at once.
const RetryInterval = 30 * time.Second

// fileOutput is one log file. A file renamed or removed (logrotate without
// copytruncate) is noticed on the next write by comparing the path's inode
// with the open file's, and the path is opened again. A file that cannot be
// opened or written is closed and marked failed: its lines go to stderr
// until it can be opened again. Not safe for concurrent use: its sink
// holds its lock around every call.
type fileOutput struct {
	path    string
	what    string // "log file PATH", as messages name it
	pipes   bool   // a FIFO is taken: its writes hold up a writer goroutine, never the caller
	f       *os.File
	fi      os.FileInfo // of f, to notice a rename or removal
	failure             // non-zero while the file cannot be written

	// cur is f, for interrupt, which runs while the writer is in a
	// write and so does not take the sink's lock.
	cur atomic.Pointer[os.File]
}

// failure is the state of an output that cannot be written, shared by files
// and syslog: the error, whether it has been reported (once per episode:
// until a write succeeds again), and when it was last tried.
type failure struct {
	err      error
	reported bool
	lastTry  time.Time
}

func (o *failure) fail(err error, now time.Time) error {
	o.err, o.lastTry = err, now
	return err
}

// succeeded ends a failure episode; it reports whether there was one.
func (o *failure) succeeded() bool {
	was := o.err != nil || o.reported
	*o = failure{}
	return was
}

// due says whether a failed output should be tried again now.
func (o *failure) due(now time.Time) bool {
	return now.Sub(o.lastTry) >= RetryInterval || now.Before(o.lastTry)
}

// open opens the path for appending, closing what was open before.
func (o *fileOutput) open(now time.Time) error {
	o.close()
	// O_NONBLOCK: opening a FIFO without a reader must fail, not wait.
	f, err := os.OpenFile(o.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE|syscall.O_NONBLOCK, FileMode)
	if err != nil {
		return o.fail(err, now)
	}
	fi, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return o.fail(fmt.Errorf("stat %s: %w", o.path, err), now)
	}
	if !fi.Mode().IsRegular() && fi.Mode()&fs.ModeCharDevice == 0 && (!o.pipes || fi.Mode()&fs.ModeNamedPipe == 0) {
		// A FIFO could block the caller of a synchronous logger
		// once its reader stops reading (an Async logger's writer
		// blocks instead, and its caller drops and counts); a
		// socket cannot be opened anyway, nor a directory
		// written (open already refused it).
		_ = f.Close()
		return o.fail(fmt.Errorf("open %s: not a regular file (%s)", o.path, fi.Mode().Type()), now)
	}
	o.f, o.fi = f, fi
	o.cur.Store(f)
	return nil
}

func (o *fileOutput) close() error {
	if o.f == nil {
		return nil
	}
	o.cur.Store(nil)
	err := o.f.Close()
	o.f, o.fi = nil, nil
	return err
}

// interruptible reports whether a write to the open file that waits can
// be made to return (interrupt): the runtime polls a FIFO, a pipe or a
// terminal, and their writes wait in the poller, not in the kernel; a
// regular file's write on a hung mount waits in the kernel until the
// mount answers. False when no file is open.
func (o *fileOutput) interruptible() bool {
	f := o.cur.Load()
	return f != nil && f.SetWriteDeadline(time.Time{}) == nil
}

// interrupt makes a write to the open file that waits return at once
// with an error, and every later write fail, where interruptible.
func (o *fileOutput) interrupt() {
	if f := o.cur.Load(); f != nil {
		_ = f.SetWriteDeadline(time.Unix(1, 0))
	}
}

// rotated reports whether the path no longer names the open file.
func (o *fileOutput) rotated() bool {
	fi, err := os.Stat(o.path)
	if err != nil {
		// Removed: open a fresh one. Any other error (the directory
		// became unreadable): keep writing where we are.
		return errors.Is(err, fs.ErrNotExist)
	}
	return !os.SameFile(fi, o.fi)
}

// write appends one line. An error means the line was not written and the
// file is now failed (its error is in o.err).
func (o *fileOutput) write(line []byte, now time.Time) error {
	switch {
	case o.f == nil:
		if !o.due(now) {
			return o.err
		}
		if err := o.open(now); err != nil {
			return err
		}
	case o.rotated():
		if err := o.open(now); err != nil {
			return err
		}
	}
	if _, err := o.f.Write(line); err != nil {
		o.close()
		return o.fail(err, now)
	}
	return nil
}
