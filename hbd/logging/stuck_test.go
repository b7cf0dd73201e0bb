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
)

// stuckPipe is a pipe whose write end is in blocking mode, as a stderr
// inherited from a supervisor is, and full: the next write(2) blocks until
// unstick starts reading it.
type stuckPipe struct {
	w, r *os.File
	got  lockedBuffer
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

func newStuckSyslog(t *testing.T) *stuckSyslog {
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
		written func() []string // what the output took, in order
		said    func() string   // where a stuck write is said ("" = nowhere)
		stuck   string          // the output Health names as stuck
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
			stderr := &lockedBuffer{}
			return rig{
				opts:    Options{Outputs: Outputs{Facility: "local0"}, SyslogNetwork: "unixgram", SyslogAddr: s.path, Stderr: stderr},
				unstick: s.unstick, written: s.lines, said: stderr.String, stuck: "syslog",
			}
		}},
		{"stderr stuck, syslog working", func(t *testing.T) rig {
			// The logfile cannot be opened: its lines go to stderr,
			// which is stuck; syslog gets them too, and the word
			// that stderr is stuck.
			p := newStuckPipe(t)
			s := newStuckSyslog(t)
			s.unstick()
			return rig{
				opts: Options{
					Outputs:       Outputs{Logfile: filepath.Join(t.TempDir(), "missing", "ha-log"), Facility: "local0"},
					SyslogNetwork: "unixgram", SyslogAddr: s.path, Stderr: p.w,
				},
				unstick: p.unstick, written: s.lines,
				said:  func() string { return strings.Join(s.lines(), "\n") },
				stuck: "stderr",
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
			deadline := time.Now().Add(20 * time.Second)
			var got []string
			for {
				got = rg.written()
				if len(got) > 0 && strings.HasSuffix(got[len(got)-1], "info: line "+strconv.Itoa(n)) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the last line never came; %d lines, the last %q", len(got), got[max(len(got)-3, 0):])
				}
				time.Sleep(10 * time.Millisecond)
			}
			written, droppedN, reports, next := 0, 0, 0, -1
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
					t.Fatalf("line %d after line %d", i, next)
				}
				next = i
				written++
			}
			if reports == 0 || droppedN == 0 {
				t.Errorf("no report of dropped lines; %d written", written)
			}
			if written+droppedN != n+1 {
				t.Errorf("%d lines written and %d counted as dropped, want %d in all", written, droppedN, n+1)
			}
			if h := healthOf(t, l); h != (Health{Dropped: uint64(droppedN)}) {
				t.Errorf("once unstuck: Health %+v, want the %d lines reported dropped and nothing stuck", h, droppedN)
			}
			if err := l.Close(); err != nil {
				t.Errorf("Close once unstuck: %v", err)
			}
		})
	}
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
	case <-l.r.q.done:
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

// TestApplyAndReopenWhileStuck: Apply and Reopen return ErrStuck at once
// while the writer is stuck, and take effect once it is free: the lines
// after them go to the new log file.
func TestApplyAndReopenWhileStuck(t *testing.T) {
	p := newStuckPipe(t)
	l, err := New(Options{Stderr: p.w, PID: 4242, Now: fixedClock, Async: true, StuckAfter: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	l.Info("to stderr") // the writer blocks on it
	path := filepath.Join(t.TempDir(), "ha-log")
	for _, f := range []func() error{
		func() error { return l.Apply(Outputs{Logfile: filepath.Join(t.TempDir(), "other")}) },
		func() error { return l.Apply(Outputs{Logfile: path}) }, // the latest wins
		l.Reopen,
	} {
		t0 := time.Now()
		if err := f(); !errors.Is(err, ErrStuck) {
			t.Errorf("while stuck: %v, want ErrStuck", err)
		}
		if d := time.Since(t0); d > time.Second {
			t.Errorf("took %s while stuck", d)
		}
	}
	l.Info("to the file")
	p.unstick()
	drain(t, l)
	if got := readFile(t, path); !strings.HasSuffix(got, "info: to the file\n") {
		t.Errorf("log file %q", got)
	}
	if err := l.Sync(); err != nil {
		t.Errorf("Sync once unstuck: %v", err)
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
	l.r.q.dropMu.Lock()
	drops := l.r.q.drops
	l.r.q.dropMu.Unlock()
	if drops < n {
		t.Errorf("%d lines counted as dropped, want at least %d", drops, n)
	}
}
