package logging

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// hungFIFO is a named pipe that the test holds open for reading and
// writing and does not read: a log file at its path takes 64 KiB, then
// every write waits, as on a hung mount, until drain starts reading it.
type hungFIFO struct {
	path string
	f    *os.File // read-write: the pipe has a reader, so the logger's open succeeds
	got  testenv.LockedBuffer
	once sync.Once
}

func newHungFIFO(t testing.TB) *hungFIFO {
	t.Helper()
	p := &hungFIFO{path: filepath.Join(t.TempDir(), "ha-log")}
	if err := syscall.Mkfifo(p.path, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	f, err := os.OpenFile(p.path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	p.f = f
	t.Cleanup(func() { _ = f.Close() }) // ends drain's reader, and unblocks a write still waiting
	return p
}

// drain reads the pipe from now on, until the test ends.
func (p *hungFIFO) drain() {
	p.once.Do(func() {
		go func() {
			buf := make([]byte, 64<<10)
			for {
				n, err := p.f.Read(buf)
				_, _ = p.got.Write(buf[:n])
				if err != nil {
					return
				}
			}
		}()
	})
}

func (p *hungFIFO) lines() []string { return lines(p.got.String()) }

// TestHungLogFile: with the log file a FIFO nobody reads (a file on a
// hung mount), the log file alone drops and counts its lines; the debug
// file and syslog get every line, and the word that the log file is
// stuck; Health names it; no Info, Sync, Reopen or Apply waits for it
// beyond its bound; and once the pipe is read again the log file gets
// its lines, in order, and a WARN saying how many it dropped, as many as
// Health counts.
func TestHungLogFile(t *testing.T) {
	fifo := newHungFIFO(t)
	sl := newStuckSyslog(t)
	sl.unstick() // syslog works
	debug := filepath.Join(t.TempDir(), "ha-debug")
	out := Outputs{Logfile: fifo.path, Debugfile: debug, Facility: "local0", Keepalive: 10 * time.Millisecond}
	stderr := &testenv.LockedBuffer{}
	l, err := New(Options{Outputs: out, PID: 4242, Now: fixedClock, Async: true, Stderr: stderr,
		SyslogNetwork: "unixgram", SyslogAddr: sl.path, StuckAfter: 200 * time.Millisecond, CloseWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	logName, debugName := "log file "+fifo.path, "log file "+debug

	// The healthy outputs are waited for every 64 lines, so that they
	// keep up whatever the machine's load: they are to get every line.
	caughtUp := func() bool {
		err := l.Sync()
		return err == nil || !strings.Contains(err.Error(), debugName) && !strings.Contains(err.Error(), "syslog")
	}
	// Four queues' worth, 200 KiB: more than the pipe and the queue hold.
	const n = 4 * QueueLines
	slowest := map[string]time.Duration{}
	timed := func(what string, f func() error) error {
		t0 := time.Now()
		err := f()
		slowest[what] = max(slowest[what], time.Since(t0))
		return err
	}
	var reopenErr error
	for i := range n {
		_ = timed("info", func() error { l.Infof("line %d", i); return nil })
		switch {
		case i%1000 == 999:
			if err := timed("reopen", l.Reopen); err != nil {
				reopenErr = err
			}
			if err := timed("apply", func() error { return l.Apply(out) }); err != nil {
				t.Errorf("Apply while the log file hangs: %v", err)
			}
		case i%64 == 63:
			_ = timed("sync", l.Sync)
			waitUntil(t, "the debug file and syslog never caught up", caughtUp)
		}
	}
	for what, d := range slowest {
		// Bounded by the keepalive (10 ms); generous for a loaded
		// machine and the race detector.
		if d > time.Second {
			t.Errorf("%s took %s while the log file hung", what, d)
		}
	}
	// (The debug file or syslog may be named too, behind by a few lines
	// on a loaded machine; Health says below that they drop nothing.)
	if !errors.Is(reopenErr, ErrStuck) || !strings.Contains(reopenErr.Error(), logName+" is reopened once its current write returns") {
		t.Errorf("Reopen while the log file hangs: %v, want ErrStuck naming it", reopenErr)
	}

	var h Health
	waitUntil(t, "Health never named the log file stuck", func() bool { h = healthOf(t, l); return h.Stuck == logName })
	if o := outputOf(h, logName); o.Dropped == 0 || h.Dropped != o.Dropped {
		t.Errorf("while the log file hangs: Health %+v, want only it dropping", h)
	}
	waitUntil(t, "the debug file never said the log file is stuck", func() bool {
		return strings.Contains(readFile(t, debug), "WARN: Log output "+logName+": a write has not returned for")
	})
	said := func() string { return strings.Join(sl.lines(), "\n") }
	waitUntil(t, "syslog never said the log file is stuck", func() bool {
		return strings.Contains(said(), "WARN: Log output "+logName+": a write has not returned for")
	})

	fifo.drain()
	drain(t, l)
	l.Info("line " + strconv.Itoa(n))
	checkWritten(t, l, debugName, func() []string { return lines(readFile(t, debug)) }, n+1, false)
	checkWritten(t, l, "syslog", sl.lines, n+1, false)
	h = checkWritten(t, l, logName, fifo.lines, n+1, true)
	if h.Stuck != "" || h.Dropped != outputOf(h, logName).Dropped {
		t.Errorf("once drained: Health %+v, want nothing stuck and only the log file's drops", h)
	}
	if s := stderr.String(); strings.Contains(s, "cannot write") {
		t.Errorf("an output failed instead of waiting:\n%s", s)
	}
	if err := l.Close(); err != nil {
		t.Errorf("Close once drained: %v", err)
	}
}

// TestFIFOLogFileSync: a synchronous logger, whose caller would wait on
// a pipe whose reader stops reading, still refuses a FIFO with a reader,
// and logs to stderr instead.
func TestFIFOLogFileSync(t *testing.T) {
	fifo := newHungFIFO(t)
	l, stderr := newTestLogger(t, Outputs{Logfile: fifo.path})
	l.Info("not blocked")
	s := stderr.String()
	if !strings.Contains(s, "not a regular file") || !strings.Contains(s, "info: not blocked\n") {
		t.Errorf("stderr:\n%s", s)
	}
}
