package logging

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/sirupsen/logrus"
)

func newAsyncLogger(t *testing.T, out Outputs, stderr *gateWriter) *Logger {
	t.Helper()
	o := Options{Outputs: out, PID: 4242, Now: fixedClock, Async: true}
	if stderr != nil {
		o.Stderr = stderr
	}
	l, err := New(o)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// drain waits until the writer has written everything logged so far,
// failing the test after 20 s.
func drain(t *testing.T, l *Logger) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for l.Sync() != nil {
		if time.Now().After(deadline) {
			t.Fatal("the writer did not catch up within 20s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// gateWriter is a stderr whose writes wait while its gate is shut.
type gateWriter struct {
	testenv.LockedBuffer
	open    chan struct{}
	writing chan struct{} // gets a value when a write is waiting at the gate
}

func newGate() *gateWriter {
	return &gateWriter{open: make(chan struct{}), writing: make(chan struct{}, 1)}
}

func (g *gateWriter) Write(p []byte) (int, error) {
	select {
	case g.writing <- struct{}{}:
	default:
	}
	<-g.open
	return g.LockedBuffer.Write(p)
}

// TestAsyncOrderAndClose: lines from several goroutines reach the file
// each in its own order, none lost, by the time Close returns.
func TestAsyncOrderAndClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha-log")
	l := newAsyncLogger(t, Outputs{Logfile: path}, nil)
	const writers, each = 4, QueueLines / 4 // within the queue: nothing dropped
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				l.Infof("w%d %d", w, i)
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	next := make([]int, writers)
	got := lines(readFile(t, path))
	for _, ln := range got {
		var w, i int
		if _, err := fmt.Sscanf(ln[strings.Index(ln, "info: ")+len("info: "):], "w%d %d", &w, &i); err != nil {
			t.Fatalf("line %q: %v", ln, err)
		}
		if i != next[w] {
			t.Fatalf("writer %d: line %d where %d was due", w, i, next[w])
		}
		next[w]++
	}
	if len(got) != writers*each {
		t.Errorf("%d lines written, want %d", len(got), writers*each)
	}
	// After Close, lines go to stderr in the caller.
	stderr := &testenv.LockedBuffer{}
	l.r.stderr.out = stderr
	l.Info("after close")
	if !strings.Contains(stderr.String(), "info: after close") {
		t.Errorf("a line after Close: stderr %q", stderr.String())
	}
}

// TestAsyncDropsWhenFull: with the writer stuck, a caller queues
// QueueLines lines and then goes on without waiting, its lines dropped and
// counted; once the writer moves on, the queued lines arrive in order
// (none dropped while the writer only lagged), then one WARN with the
// count, then the lines logged after.
func TestAsyncDropsWhenFull(t *testing.T) {
	const extra = 500
	gate := newGate()
	l := newAsyncLogger(t, Outputs{}, gate) // no outputs: lines go to stderr
	l.Info("line 0")
	<-gate.writing // the writer holds line 0 at the gate
	returned := make(chan struct{})
	go func() {
		defer close(returned)
		for i := 1; i <= QueueLines+extra; i++ {
			l.Infof("line %d", i)
		}
	}()
	select {
	case <-returned:
	case <-time.After(10 * time.Second):
		t.Fatal("a caller waited for a stuck writer")
	}
	close(gate.open)
	drain(t, l)
	l.Info("after")
	drain(t, l)
	got := lines(gate.String())
	if len(got) != QueueLines+3 {
		t.Fatalf("%d lines written, want %d:\n%s", len(got), QueueLines+3, strings.Join(got[max(len(got)-5, 0):], "\n"))
	}
	for i, ln := range got[:QueueLines+1] {
		if !strings.HasSuffix(ln, fmt.Sprintf("info: line %d", i)) {
			t.Fatalf("line %d is %q", i, ln)
		}
	}
	want := regexp.MustCompile(fmt.Sprintf(`^heartbeat\[4242\]: 2012/11/21_15:12:44 WARN: Log output did not keep up: %d lines dropped over \d\S* \(from \S+\), the queue of %d lines full$`, extra, QueueLines))
	if ln := got[QueueLines+1]; !want.MatchString(ln) {
		t.Errorf("report %q, want %s", ln, want)
	}
	if ln := got[QueueLines+2]; !strings.HasSuffix(ln, "info: after") {
		t.Errorf("last line %q", ln)
	}
}

// TestAsyncFlushPoints: Sync, a CRIT line, Apply and Reopen each write
// what was logged before them first.
func TestAsyncFlushPoints(t *testing.T) {
	tests := []struct {
		name string
		act  func(l *Logger, dir string) error
		want map[string]string // file in dir → its content after act
	}{
		{"sync", func(l *Logger, _ string) error { l.Info("one"); return l.Sync() }, map[string]string{"a": "info: one"}},
		{"crit", func(l *Logger, _ string) error { l.Info("one"); l.Crit("two"); return nil }, map[string]string{"a": "info: one\nCRIT: two"}},
		{"apply", func(l *Logger, dir string) error {
			l.Info("one")
			err := l.Apply(Outputs{Logfile: filepath.Join(dir, "b")})
			l.Info("two")
			return errors.Join(err, l.Sync())
		}, map[string]string{"a": "info: one", "b": "info: two"}},
		{"reopen", func(l *Logger, _ string) error { l.Info("one"); return l.Reopen() }, map[string]string{"a": "info: one"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := newAsyncLogger(t, Outputs{Logfile: filepath.Join(dir, "a")}, nil)
			if err := tc.act(l, dir); err != nil {
				t.Fatal(err)
			}
			for p, want := range tc.want {
				var body []string
				for _, ln := range lines(readFile(t, filepath.Join(dir, p))) {
					body = append(body, ln[len("heartbeat[4242]: 2012/11/21_15:12:44 "):])
				}
				if got := strings.Join(body, "\n"); got != want {
					t.Errorf("%s: %q, want %q", p, got, want)
				}
			}
		})
	}
}

// TestSyslogTextOfLine: the syslog text cut from a formatted line is
// SyslogLine's.
func TestSyslogTextOfLine(t *testing.T) {
	lg := logrus.New()
	f := Formatter{Program: "heartbeat", PID: 4242}
	tests := []struct {
		name string
		e    *logrus.Entry
	}{
		{"plain", &logrus.Entry{Logger: lg, Level: logrus.InfoLevel, Message: "Link node2:eth0 up.", Time: fixedTime}},
		{"fields", &logrus.Entry{Logger: lg, Level: logrus.WarnLevel, Message: "late", Data: logrus.Fields{"ms": 12, "node": "a b"}, Time: fixedTime}},
		{"tagged", &logrus.Entry{Logger: lg, Level: logrus.ErrorLevel, Message: "failed\n", Data: logrus.Fields{TagKey: "IPaddr2", TagPIDKey: 178, "rc": 1}, Time: fixedTime}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ln line
			f.record(&ln, nil, tc.e, false)
			if got, want := ln.syslogText(), SyslogLine(tc.e); got != want {
				t.Errorf("syslogText %q, SyslogLine %q", got, want)
			}
			if got, want := string(ln.text), string(f.appendLine(nil, tc.e)); got != want {
				t.Errorf("record %q, appendLine %q", got, want)
			}
		})
	}
}
