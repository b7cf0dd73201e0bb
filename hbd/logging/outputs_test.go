package logging

import (
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestOneStuckOutputHoldsUpNoOther: an output that stops taking lines
// (a syslog socket nobody reads; a stderr pipe nobody reads, where the
// lines of a log file that cannot be opened go) drops and counts its own
// lines; the log files keep getting every line, in order, none dropped,
// and the word that the other output is stuck, once.
func TestOneStuckOutputHoldsUpNoOther(t *testing.T) {
	type rig struct {
		opts    Options
		files   []string // every line must reach each
		stuck   string   // the output that is stuck, as Health names it
		unstick func()
		written func() []string // what it took, in order
	}
	tests := []struct {
		name string
		make func(t *testing.T, dir string) rig
	}{
		{"syslog socket nobody reads", func(t *testing.T, dir string) rig {
			s := newStuckSyslog(t)
			log, debug := filepath.Join(dir, "ha-log"), filepath.Join(dir, "ha-debug")
			return rig{
				opts:  Options{Outputs: Outputs{Logfile: log, Debugfile: debug, Facility: "local0"}, SyslogNetwork: "unixgram", SyslogAddr: s.path, Stderr: &testenv.LockedBuffer{}},
				files: []string{log, debug}, stuck: "syslog", unstick: s.unstick, written: s.lines,
			}
		}},
		{"stderr pipe nobody reads", func(t *testing.T, dir string) rig {
			p := newStuckPipe(t)
			debug := filepath.Join(dir, "ha-debug")
			return rig{
				opts:  Options{Outputs: Outputs{Logfile: filepath.Join(dir, "missing", "ha-log"), Debugfile: debug}, Stderr: p.w},
				files: []string{debug}, stuck: "stderr", unstick: p.unstick, written: p.lines,
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rg := tc.make(t, t.TempDir())
			o := rg.opts
			o.PID, o.Now, o.Async, o.StuckAfter, o.CloseWait = 4242, fixedClock, true, 100*time.Millisecond, time.Second
			l, err := New(o)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = l.Close() })

			const n = 3 * QueueLines
			for i := range n {
				l.Infof("line %d", i)
				if (i+1)%(QueueLines/4) == 0 {
					// Paced as a file's writer keeps up: the
					// stuck output's queue is full long before.
					for _, f := range rg.files {
						waitUntil(t, f+" fell behind", func() bool { return strings.Count(readFile(t, f), "info: line ") == i+1 })
					}
				}
			}
			waitUntil(t, rg.stuck+" was not found stuck", func() bool { return healthOf(t, l).Stuck == rg.stuck })
			time.Sleep(300 * time.Millisecond) // the stuck write would be said again by now
			if err := l.Sync(); !errors.Is(err, ErrStuck) || !strings.HasPrefix(err.Error(), rg.stuck+": ") || strings.Contains(err.Error(), "log file") {
				t.Errorf("Sync: %v, want ErrStuck for %s only", err, rg.stuck)
			}
			for _, f := range rg.files {
				got := readFile(t, f)
				next := 0
				for _, ln := range lines(got) {
					if m := lineRE.FindStringSubmatch(ln); m != nil {
						if i, _ := strconv.Atoi(m[1]); i != next {
							t.Fatalf("%s: line %d where %d was due", f, i, next)
						}
						next++
					}
				}
				if next != n || strings.Contains(got, "did not keep up") {
					t.Errorf("%s: %d lines of %d, or a drop report", f, next, n)
				}
				if c := strings.Count(got, "WARN: Log output "+rg.stuck+": a write has not returned for"); c != 1 {
					t.Errorf("%s says %d times that %s is stuck, want once", f, c, rg.stuck)
				}
			}
			h := healthOf(t, l)
			if len(h.Outputs) != 1 || h.Outputs[0].Output != rg.stuck || h.Outputs[0].Dropped == 0 {
				t.Errorf("Health %+v, want %s alone, stuck with lines dropped", h, rg.stuck)
			}

			rg.unstick()
			drain(t, l)
			l.Info("line " + strconv.Itoa(n))
			checkWritten(t, l, rg.stuck, rg.written, n+1, true)
		})
	}
}

// TestReloadChangesTheWait: a reload's keepalive bounds the waits for a
// stuck writer from then on, lower or higher than the one at the start
// (FlushWait at most).
func TestReloadChangesTheWait(t *testing.T) {
	tests := []struct {
		name                string
		flushWait           time.Duration
		keepalive, reloaded time.Duration
		atLeast, lessThan   time.Duration
	}{
		{"lowered", 5 * time.Second, 5 * time.Second, 30 * time.Millisecond, 0, time.Second},
		{"raised to FlushWait", 600 * time.Millisecond, 30 * time.Millisecond, time.Hour, 300 * time.Millisecond, 5 * time.Second},
		{"raised, no keepalive", 600 * time.Millisecond, 30 * time.Millisecond, 0, 300 * time.Millisecond, 5 * time.Second},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			gate := newGate()
			l, err := New(Options{Outputs: Outputs{Keepalive: tc.keepalive}, Stderr: gate, PID: 4242, Async: true,
				FlushWait: tc.flushWait, CloseWait: time.Second, StuckAfter: time.Hour})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { close(gate.open); _ = l.Close() })
			if err := l.Apply(Outputs{Keepalive: tc.reloaded}); err != nil {
				t.Fatal(err)
			}
			l.Info("held")
			<-gate.writing
			t0 := time.Now()
			err = l.Sync()
			d := time.Since(t0)
			if !errors.Is(err, ErrStuck) || d < tc.atLeast || d >= tc.lessThan {
				t.Errorf("Sync: %v after %s, want ErrStuck after %s to %s", err, d, tc.atLeast, tc.lessThan)
			}
		})
	}
}

// TestOwnLinesNeverCounted: with stderr held and its queue full, the
// logger's own lines that stderr drops (the notice that a log file
// cannot be opened, the word that stderr is stuck, sent to that log file
// and so to stderr) are not counted; the callers' lines are, exactly,
// and the report once stderr moves says that many.
func TestOwnLinesNeverCounted(t *testing.T) {
	const extra = 10
	gate := newGate()
	l, err := New(Options{Stderr: gate, PID: 4242, Now: fixedClock, Async: true, StuckAfter: 50 * time.Millisecond, CloseWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	l.Info("held") // the writer waits at the gate with it
	<-gate.writing
	for i := range QueueLines {
		l.Infof("line %d", i)
	}
	// The file cannot be opened: its writer says so on stderr, which is
	// full.
	if err := l.Apply(Outputs{Logfile: filepath.Join(t.TempDir(), "missing", "ha-log")}); err != nil {
		t.Fatal(err)
	}
	for i := range extra {
		l.Infof("extra %d", i) // to the log file, and so to stderr
	}
	if err := l.Sync(); !errors.Is(err, ErrStuck) || strings.Contains(err.Error(), "log file") {
		t.Fatalf("Sync: %v, want stderr stuck and the log file's writer done", err)
	}
	waitUntil(t, "stderr never found stuck", func() bool { return healthOf(t, l).Stuck == "stderr" })
	time.Sleep(200 * time.Millisecond) // the word that it is stuck went to the log file, then to stderr
	if got := outputOf(healthOf(t, l), "stderr").Dropped; got != extra {
		t.Errorf("stderr dropped %d lines, want the %d of the caller", got, extra)
	}
	close(gate.open)
	drain(t, l)
	got := gate.String()
	m := dropRE.FindAllStringSubmatch(got, -1)
	if len(m) != 1 || m[0][1] != strconv.Itoa(extra) {
		t.Errorf("drop reports %q, want one of %d lines:\n%s", m, extra, got)
	}
	if n := strings.Count(got, "info: line "); n != QueueLines {
		t.Errorf("%d of the %d queued lines written", n, QueueLines)
	}
}

// TestHealthDuringApply: Health, read while reloads open and close
// outputs, sees each output whole (the race detector checks).
func TestHealthDuringApply(t *testing.T) {
	dir := t.TempDir()
	l, err := New(Options{PID: 4242, Stderr: &testenv.LockedBuffer{}, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := range 50 {
			if err := l.Apply(Outputs{Logfile: filepath.Join(dir, strconv.Itoa(i%3))}); err != nil {
				t.Error(err)
			}
			l.Info("x")
		}
	}()
	for {
		if h := l.Health(); !h.IsZero() {
			t.Errorf("Health %+v with every output keeping up", h)
		}
		select {
		case <-done:
			return
		default:
		}
	}
}
