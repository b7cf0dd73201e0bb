package logging

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// stuckPipe is a pipe whose write end is in blocking mode, as a stderr
// inherited from a supervisor is, and full: the next write(2) blocks until
// unstick starts reading it.
type stuckPipe struct {
	w, r *os.File
	got  testenv.LockedBuffer
	done chan struct{}
}

func newStuckPipe(t testing.TB) *stuckPipe {
	t.Helper()
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		t.Fatal(err)
	}
	filler := []byte("filler\n")
	for {
		_, err := syscall.Write(fds[1], filler)
		if errors.Is(err, syscall.EAGAIN) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, fd := range fds {
		if err := syscall.SetNonblock(fd, false); err != nil {
			t.Fatal(err)
		}
	}
	p := &stuckPipe{w: os.NewFile(uintptr(fds[1]), "stuck-w"), r: os.NewFile(uintptr(fds[0]), "stuck-r"), done: make(chan struct{})}
	t.Cleanup(func() {
		_ = p.w.Close()
		select {
		case <-p.done:
		default: // never unstuck: nothing reads
			_ = p.r.Close()
		}
	})
	return p
}

// unstick reads the pipe from now on, until its write end is closed.
func (p *stuckPipe) unstick() {
	go func() {
		defer close(p.done)
		defer p.r.Close()
		buf := make([]byte, 64<<10)
		for {
			n, err := p.r.Read(buf)
			_, _ = p.got.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
}

// lines are what was read, the filler left out.
func (p *stuckPipe) lines() []string {
	var out []string
	for _, ln := range lines(p.got.String()) {
		if ln != "filler" {
			out = append(out, ln)
		}
	}
	return out
}

// stuckSyslog is a syslog socket that reads nothing until unstick.
type stuckSyslog struct {
	path string
	conn *net.UnixConn
	mu   sync.Mutex
	got  []string
}

func newStuckSyslog(t testing.TB) *stuckSyslog {
	t.Helper()
	s := &stuckSyslog{path: filepath.Join(t.TempDir(), "log")}
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: s.path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	s.conn = conn
	t.Cleanup(func() { _ = conn.Close() })
	return s
}

func (s *stuckSyslog) unstick() {
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := s.conn.Read(buf)
			if err != nil {
				return
			}
			m := syslogRE.FindStringSubmatch(string(buf[:n]))
			s.mu.Lock()
			if m == nil {
				s.got = append(s.got, "unparsed: "+string(buf[:n]))
			} else {
				s.got = append(s.got, m[3])
			}
			s.mu.Unlock()
		}
	}()
}

func (s *stuckSyslog) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.got...)
}

var (
	dropRE = regexp.MustCompile(`WARN: Log output did not keep up: (\d+) lines dropped over `)
	lineRE = regexp.MustCompile(`(?:info|CRIT): line (\d+)$`)
)

// TestStuckOutputNeverHoldsTheCaller: with an output that stops taking
// lines for good (a stderr pipe nobody reads, a syslog socket nobody
// reads, stderr stuck while syslog works), no call waits for it beyond its
// bound, and once the output takes lines again every line logged is
// either written, in order, or counted in a WARN that says how many went.
// The stuck write is said once on another output, if there is one.
func TestStuckOutputNeverHoldsTheCaller(t *testing.T) {
	const stuckAfter = 200 * time.Millisecond
	type rig struct {
		opts    Options
		unstick func()
		written func() []string // what the stuck output took, in order
		said    func() string   // where a stuck write is said ("" = nowhere)
		stuck   string          // the output Health names as stuck
		other   string          // another output, as Health names it ("" = none)
		wrote   func() []string // what it took, in order
	}
	tests := []struct {
		name string
		make func(t *testing.T) rig
	}{
		{"stderr pipe nobody reads", func(t *testing.T) rig {
			p := newStuckPipe(t)
			return rig{opts: Options{Stderr: p.w}, unstick: p.unstick, written: p.lines, stuck: "stderr"}
		}},
		{"syslog socket nobody reads", func(t *testing.T) rig {
			s := newStuckSyslog(t)
			stderr := &testenv.LockedBuffer{}
			return rig{
				opts:    Options{Outputs: Outputs{Facility: "local0"}, SyslogNetwork: "unixgram", SyslogAddr: s.path, Stderr: stderr},
				unstick: s.unstick, written: s.lines, said: stderr.String, stuck: "syslog",
			}
		}},
		{"stderr stuck, syslog working", func(t *testing.T) rig {
			// The logfile cannot be opened: its lines go to stderr,
			// which is stuck; syslog gets them all the same, and the
			// word that stderr is stuck. That word also goes to the
			// logfile, so to stderr: the logger's own line, which
			// stderr drops without counting it.
			p := newStuckPipe(t)
			s := newStuckSyslog(t)
			s.unstick()
			return rig{
				opts: Options{
					Outputs:       Outputs{Logfile: filepath.Join(t.TempDir(), "missing", "ha-log"), Facility: "local0"},
					SyslogNetwork: "unixgram", SyslogAddr: s.path, Stderr: p.w,
				},
				unstick: p.unstick, written: p.lines,
				said:  func() string { return strings.Join(s.lines(), "\n") },
				stuck: "stderr",
				other: "syslog", wrote: s.lines,
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rg := tc.make(t)
			o := rg.opts
			o.PID, o.Now, o.Async, o.StuckAfter, o.CloseWait = 4242, fixedClock, true, stuckAfter, time.Second
			l, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() })

			// Log three queues' worth, with every kind of call that
			// waits for the writer among the lines.
			const n = 3 * QueueLines
			slowest := map[string]time.Duration{}
			timed := func(what string, f func()) {
				t0 := time.Now()
				f()
				slowest[what] = max(slowest[what], time.Since(t0))
			}
			finished := make(chan struct{})
			go func() {
				defer close(finished)
				for i := range n {
					switch {
					case i%700 == 350:
						timed("crit", func() { l.Critf("line %d", i) })
					case i%700 == 0:
						timed("info", func() { l.Infof("line %d", i) })
						timed("sync", func() { _ = l.Sync() })
						timed("reopen", func() { _ = l.Reopen() })
						timed("apply", func() { _ = l.Apply(o.Outputs) })
					default:
						timed("info", func() { l.Infof("line %d", i) })
					}
				}
			}()
			select {
			case <-finished:
			case <-time.After(20 * time.Second):
				t.Fatal("the caller is held by the stuck output")
			}
			for what, d := range slowest {
				// Bounded by FlushWait (10 ms); generous for a
				// loaded machine and the race detector.
				if d > time.Second {
					t.Errorf("%s took %s while the output was stuck", what, d)
				}
			}
			time.Sleep(3 * stuckAfter) // the watch says it once, not thrice
			var said string
			if rg.said != nil {
				said = rg.said()
				if c := strings.Count(said, "a write has not returned for"); c != 1 {
					t.Errorf("the stuck write was said %d times, want once:\n%s", c, said)
				}
			}

			if h := healthOf(t, l); h.Stuck != rg.stuck || h.Dropped == 0 {
				t.Errorf("while stuck: Health %+v, want %s stuck and lines dropped", h, rg.stuck)
			}

			rg.unstick()
			drain(t, l)
			l.Info("line " + strconv.Itoa(n))
			h := checkWritten(t, l, rg.stuck, rg.written, n+1, true)
			if rg.other != "" {
				checkWritten(t, l, rg.other, rg.wrote, n+1, false)
			}
			if h.Stuck != "" {
				t.Errorf("once unstuck: %+v, want nothing stuck", h)
			}
			if err := l.Close(); err != nil {
				t.Errorf("Close once unstuck: %v", err)
			}
		})
	}
}

// checkWritten waits until what output took ends with "line N-1", then
// checks that the lines 0 to N-1 it took are in order, and that those it
// did not are counted in its drop reports (some at least, if dropping),
// as many as Health says it dropped: the logger's own lines are never
// counted. It returns that Health.
func checkWritten(t *testing.T, l *Logger, output string, written func() []string, n int, dropping bool) Health {
	t.Helper()
	last := "info: line " + strconv.Itoa(n-1)
	var got []string
	waitUntil(t, output+" never got the last line", func() bool {
		got = written()
		return len(got) > 0 && strings.HasSuffix(got[len(got)-1], last)
	})
	wrote, droppedN, reports, next := 0, 0, 0, -1
	for _, ln := range got {
		if m := dropRE.FindStringSubmatch(ln); m != nil {
			k, _ := strconv.Atoi(m[1])
			droppedN += k
			reports++
			continue
		}
		m := lineRE.FindStringSubmatch(ln)
		if m == nil {
			continue // the logger's own notices
		}
		i, _ := strconv.Atoi(m[1])
		if i <= next {
			t.Fatalf("%s: line %d after line %d", output, i, next)
		}
		next = i
		wrote++
	}
	if dropping && (reports == 0 || droppedN == 0) {
		t.Errorf("%s: no report of dropped lines; %d written", output, wrote)
	}
	if wrote+droppedN != n {
		t.Errorf("%s: %d lines written and %d counted as dropped, want %d in all", output, wrote, droppedN, n)
	}
	h := healthOf(t, l)
	if o := outputOf(h, output); o.Dropped != uint64(droppedN) {
		t.Errorf("%s: Health %+v, want the %d lines it reported dropped", output, h, droppedN)
	}
	return h
}

// TestCloseWhileStuckIsBounded: Close waits CloseWait for a stuck writer,
// then returns ErrStuck; lines logged after it are dropped, not waited
// for; once the output is read again, what was queued arrives.
func TestCloseWhileStuckIsBounded(t *testing.T) {
	p := newStuckPipe(t)
	l, err := New(Options{Stderr: p.w, PID: 4242, Now: fixedClock, Async: true, CloseWait: 200 * time.Millisecond, StuckAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	l.Info("queued")
	t0 := time.Now()
	if err := l.Close(); !errors.Is(err, ErrStuck) {
		t.Errorf("Close: %v, want ErrStuck", err)
	}
	if d := time.Since(t0); d > 5*time.Second {
		t.Errorf("Close took %s", d)
	}
	done := make(chan struct{})
	go func() { l.Info("after close"); l.Crit("crit after close"); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("a line after Close waited for the stuck writer")
	}
	p.unstick()
	// The writer ends once it has written what was queued.
	select {
	case <-l.r.stderr.q.done:
	case <-time.After(10 * time.Second):
		t.Fatal("the writer did not end once unstuck")
	}
	_ = p.w.Close()
	<-p.done // read to the end
	got := strings.Join(p.lines(), "\n")
	if !strings.Contains(got, "info: queued") || strings.Contains(got, "after close") {
		t.Errorf("written:\n%s", got)
	}
	if !strings.Contains(got, "did not keep up: 2 lines dropped") {
		t.Errorf("the two lines after Close are not counted:\n%s", got)
	}
}

// waitUntil polls cond every 10 ms, failing the test after 20 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after 20s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// stuckOn logs lines until Health says the output named what is stuck in
// a write.
func stuckOn(t *testing.T, l *Logger, what string) {
	t.Helper()
	i := 0
	waitUntil(t, what+" never got stuck", func() bool {
		for range 50 {
			l.Infof("filling %d", i)
			i++
		}
		return !outputOf(healthOf(t, l), what).StuckSince.IsZero()
	})
}

// TestApplyAndReopenWhileStuck: with syslog stuck (a socket nobody
// reads), Reopen and Apply do not wait for it: the log file is reopened
// and the new one written at once, while syslog still is; Reopen says
// syslog reopens once its write returns, and it gets its lines, the ones
// it dropped counted, once it is read again.
func TestApplyAndReopenWhileStuck(t *testing.T) {
	sl := newStuckSyslog(t)
	dir := t.TempDir()
	a, b, debug := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "debug")
	out := Outputs{Logfile: a, Facility: "local0"}
	l, err := New(Options{Outputs: out, PID: 4242, Now: fixedClock, Async: true, Stderr: &testenv.LockedBuffer{},
		SyslogNetwork: "unixgram", SyslogAddr: sl.path, StuckAfter: 100 * time.Millisecond, CloseWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	stuckOn(t, l, "syslog")
	for i := range QueueLines {
		l.Infof("more %d", i) // syslog's queue fills and drops
	}
	// The log file's writer catches up: behind, a reopen would wait for
	// it longer than FlushWait too.
	waitUntil(t, "the log file never caught up", func() bool {
		err := l.Sync()
		return errors.Is(err, ErrStuck) && !strings.Contains(err.Error(), "log file")
	})

	if err := os.Rename(a, a+".1"); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	err = l.Reopen()
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Reopen took %s", d)
	}
	if !errors.Is(err, ErrStuck) || !strings.Contains(err.Error(), "syslog is reopened once its current write returns") {
		t.Errorf("Reopen: %v, want ErrStuck for syslog", err)
	}
	if strings.Contains(err.Error(), "log file") {
		t.Errorf("Reopen: %v; the log file is not stuck", err)
	}
	if _, err := os.Stat(a); err != nil {
		t.Errorf("the log file was not reopened at once: %v", err)
	}
	l.Info("after reopen")
	waitUntil(t, "the reopened log file never got the line", func() bool { return strings.Contains(readFile(t, a), "info: after reopen\n") })

	out.Logfile, out.Debugfile = b, debug
	t0 = time.Now()
	if err := l.Apply(out); err != nil {
		t.Errorf("Apply while syslog is stuck: %v", err)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("Apply took %s", d)
	}
	l.Info("after apply")
	for _, p := range []string{b, debug} {
		waitUntil(t, p+" never got the line", func() bool { return strings.Contains(readFile(t, p), "info: after apply\n") })
	}
	if got := readFile(t, a); strings.Contains(got, "after apply") {
		t.Errorf("the old log file got a line after Apply:\n%s", got)
	}
	if h := healthOf(t, l); h.Stuck != "syslog" || outputOf(h, "log file "+b) != (OutputHealth{Output: "log file " + b}) {
		t.Errorf("Health %+v, want syslog stuck and nothing of the log file", h)
	}

	sl.unstick()
	drain(t, l)
	l.Info("last")
	var got []string
	waitUntil(t, "syslog never got the last line", func() bool {
		got = sl.lines()
		return len(got) > 0 && strings.HasSuffix(got[len(got)-1], "info: last")
	})
	dropped := 0
	for _, ln := range got {
		if m := dropRE.FindStringSubmatch(ln); m != nil {
			k, _ := strconv.Atoi(m[1])
			dropped += k
		}
	}
	if h := healthOf(t, l); dropped == 0 || outputOf(h, "syslog").Dropped != uint64(dropped) || h.Stuck != "" {
		t.Errorf("syslog reported %d lines dropped; Health %+v", dropped, h)
	}
}

// TestStuckMemoryBounded: a caller that logs on and on into a stuck
// output holds no more than the queue.
func TestStuckMemoryBounded(t *testing.T) {
	p := newStuckPipe(t)
	l, err := New(Options{Stderr: p.w, PID: 4242, Async: true, CloseWait: time.Millisecond, StuckAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.unstick(); _ = l.Close() })
	msg := strings.Repeat("x", 1024)
	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	for range QueueLines + 1 {
		l.Info(msg)
	}
	before := heap()
	const n = 50_000 // 50 MB of lines
	for i := range n {
		l.Info(msg + strconv.Itoa(i))
	}
	after := heap()
	if grew := int64(after) - int64(before); grew > 8<<20 {
		t.Errorf("heap grew by %d bytes over %d lines dropped", grew, n)
	}
	drops := l.Health().Dropped
	if drops < n {
		t.Errorf("%d lines counted as dropped, want at least %d", drops, n)
	}
}
