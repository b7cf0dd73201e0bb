package logging

import (
	"errors"
	"fmt"
	"log/syslog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/sirupsen/logrus"
)

var fixedTime = time.Date(2012, 11, 21, 15, 12, 44, 0, time.Local)

func fixedClock() time.Time { return fixedTime }

// newTestLogger builds a Logger with a fixed clock and pid 4242.
func newTestLogger(t *testing.T, out Outputs) (*Logger, *testenv.LockedBuffer) {
	t.Helper()
	stderr := &testenv.LockedBuffer{}
	l, err := New(Options{Outputs: out, PID: 4242, Stderr: stderr, Now: fixedClock})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, stderr
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("read %s: %v", path, err)
	}
	return string(b)
}

func lines(s string) []string {
	s = strings.TrimSuffix(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func TestLineFormatPerLevel(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *Logger)
		want string
	}{
		{"trace", func(l *Logger) { l.Trace("t") }, "heartbeat[4242]: 2012/11/21_15:12:44 debug: t"},
		{"debug", func(l *Logger) { l.Debug("d") }, "heartbeat[4242]: 2012/11/21_15:12:44 debug: d"},
		{"info", func(l *Logger) { l.Infof("Link %s up.", "node2:eth0") }, "heartbeat[4242]: 2012/11/21_15:12:44 info: Link node2:eth0 up."},
		{"warn", func(l *Logger) { l.Warn("No STONITH device configured.") }, "heartbeat[4242]: 2012/11/21_15:12:44 WARN: No STONITH device configured."},
		{"error", func(l *Logger) { l.Error("Cannot lock ourselves into memory") }, "heartbeat[4242]: 2012/11/21_15:12:44 ERROR: Cannot lock ourselves into memory"},
		{"crit method", func(l *Logger) { l.Crit("Resource ", "stop failed") }, "heartbeat[4242]: 2012/11/21_15:12:44 CRIT: Resource stop failed"},
		{"critf helper", func(l *Logger) { Critf(l, "node %s is dead", "n2") }, "heartbeat[4242]: 2012/11/21_15:12:44 CRIT: node n2 is dead"},
		{"crit on entry", func(l *Logger) { Crit(l.WithField("group", "web"), "x") }, "heartbeat[4242]: 2012/11/21_15:12:44 CRIT: x group=web"},
		{"trailing newline", func(l *Logger) { l.Info("a\n") }, "heartbeat[4242]: 2012/11/21_15:12:44 info: a"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			debugfile := filepath.Join(dir, "ha-debug")
			l, stderr := newTestLogger(t, Outputs{Debugfile: debugfile, Debug: 2})
			tc.log(l)
			if got := readFile(t, debugfile); got != tc.want+"\n" {
				t.Errorf("debugfile:\n got %q\nwant %q", got, tc.want+"\n")
			}
			if s := stderr.String(); s != "" {
				t.Errorf("stderr got %q, want nothing", s)
			}
		})
	}
}

func TestFieldsAndTags(t *testing.T) {
	tests := []struct {
		name string
		log  func(l *Logger)
		want string
	}{
		{"tagged", func(l *Logger) {
			l.WithTag("ResourceManager", 178).Info("Running /etc/ha.d/resource.d/IPaddr 10.0.0.1 start")
		},
			"ResourceManager[178]: 2012/11/21_15:12:44 info: Running /etc/ha.d/resource.d/IPaddr 10.0.0.1 start"},
		{"tagged with fields", func(l *Logger) {
			l.WithTag("IPaddr2", 9).WithFields(logrus.Fields{"rc": 1, "op": "start"}).Error("failed")
		}, "IPaddr2[9]: 2012/11/21_15:12:44 ERROR: failed op=start rc=1"},
		{"tag helper on entry", func(l *Logger) { WithTag(l.WithField("a", "b"), "harc", 48).Warn("w") },
			"harc[48]: 2012/11/21_15:12:44 WARN: w a=b"},
		{"tag pid as int64", func(l *Logger) { l.WithFields(logrus.Fields{TagKey: "harc", TagPIDKey: int64(7)}).Info("i") },
			"harc[7]: 2012/11/21_15:12:44 info: i"},
		{"tag pid without tag is a field", func(l *Logger) { l.WithField(TagPIDKey, 7).Info("i") },
			"heartbeat[4242]: 2012/11/21_15:12:44 info: i tag_pid=7"},
		{"fields sorted", func(l *Logger) { l.WithFields(logrus.Fields{"node": "node2", "link": "eth0", "dead": true}).Info("x") },
			"heartbeat[4242]: 2012/11/21_15:12:44 info: x dead=true link=eth0 node=node2"},
		{"values quoted when ambiguous", func(l *Logger) {
			l.WithFields(logrus.Fields{"msg": "two words", "empty": "", "eq": "a=b", "q": `say "hi"`}).Info("x")
		}, `heartbeat[4242]: 2012/11/21_15:12:44 info: x empty="" eq="a=b" msg="two words" q="say \"hi\""`},
		{"error and duration", func(l *Logger) {
			l.WithError(errors.New("exit status 1")).WithField("after", 1500*time.Millisecond).Error("stop")
		}, `heartbeat[4242]: 2012/11/21_15:12:44 ERROR: stop after=1.5s error="exit status 1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			logfile := filepath.Join(t.TempDir(), "ha-log")
			l, _ := newTestLogger(t, Outputs{Logfile: logfile})
			tc.log(l)
			if got := readFile(t, logfile); got != tc.want+"\n" {
				t.Errorf("\n got %q\nwant %q", got, tc.want+"\n")
			}
		})
	}
}

// TestEntryStringFormats: an entry of a Logger renders as its line with
// Entry.String, though logrus's own write of it to Out renders nothing.
func TestEntryStringFormats(t *testing.T) {
	l, _ := newTestLogger(t, Outputs{})
	e := l.WithTag("IPaddr2", 9).WithField("rc", 1)
	e.Time, e.Level, e.Message = fixedTime, logrus.ErrorLevel, "failed"
	got, err := e.String()
	if want := "IPaddr2[9]: 2012/11/21_15:12:44 ERROR: failed rc=1\n"; err != nil || got != want {
		t.Errorf("String() = %q, %v; want %q", got, err, want)
	}
}

func TestRouting(t *testing.T) {
	const (
		dbg  = "heartbeat[4242]: 2012/11/21_15:12:44 debug: d\n"
		info = "heartbeat[4242]: 2012/11/21_15:12:44 info: i\n"
		crit = "heartbeat[4242]: 2012/11/21_15:12:44 CRIT: c\n"
	)
	tests := []struct {
		name                              string
		logfile, debugfile                bool
		debug                             int
		wantLog, wantDebugLog, wantStderr string
	}{
		{"logfile only", true, false, 0, info + crit, "", ""},
		{"logfile at debug 1", true, false, 1, dbg + info + crit, "", ""},
		{"debugfile only", false, true, 0, "", dbg + info + crit, ""},
		{"both", true, true, 0, info + crit, dbg + info + crit, ""},
		{"both at debug 1", true, true, 1, dbg + info + crit, dbg + info + crit, ""},
		{"nothing: stderr", false, false, 0, "", "", info + crit},
		{"nothing at debug 1: stderr with debug", false, false, 1, "", "", dbg + info + crit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			var out Outputs
			logPath, debugPath := filepath.Join(dir, "ha-log"), filepath.Join(dir, "ha-debug")
			if tc.logfile {
				out.Logfile = logPath
			}
			if tc.debugfile {
				out.Debugfile = debugPath
			}
			out.Debug = tc.debug
			l, stderr := newTestLogger(t, out)
			l.Debug("d")
			l.Info("i")
			l.Crit("c")
			if got := readFile(t, logPath); got != tc.wantLog {
				t.Errorf("logfile:\n got %q\nwant %q", got, tc.wantLog)
			}
			if got := readFile(t, debugPath); got != tc.wantDebugLog {
				t.Errorf("debugfile:\n got %q\nwant %q", got, tc.wantDebugLog)
			}
			if got := stderr.String(); got != tc.wantStderr {
				t.Errorf("stderr:\n got %q\nwant %q", got, tc.wantStderr)
			}
		})
	}
}

func TestSamePathForLogfileAndDebugfileWritesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha-log")
	l, _ := newTestLogger(t, Outputs{Logfile: path, Debugfile: path})
	l.Info("once")
	if n := len(lines(readFile(t, path))); n != 1 {
		t.Errorf("got %d lines, want 1", n)
	}
}

func TestDefaults(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha-log")
	l, err := New(Options{Outputs: Outputs{Logfile: path}})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	before := time.Now().Truncate(time.Second)
	l.Info("hello")
	after := time.Now()
	got := readFile(t, path)
	m := regexp.MustCompile(`^heartbeat\[(\d+)\]: (\d{4}/\d\d/\d\d_\d\d:\d\d:\d\d) info: hello\n$`).FindStringSubmatch(got)
	if m == nil {
		t.Fatalf("line %q not in Heartbeat's format", got)
	}
	if m[1] != fmt.Sprint(os.Getpid()) {
		t.Errorf("pid %s, want %d", m[1], os.Getpid())
	}
	ts, err := time.ParseInLocation(TimeLayout, m[2], time.Local)
	if err != nil || ts.Before(before) || ts.After(after) {
		t.Errorf("time %s (%v) not between %v and %v", m[2], err, before, after)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&^FileMode != 0 {
		t.Errorf("mode %v has bits beyond %v", perm, FileMode)
	}
}

func TestUnwritableFileFallsBackToStderrOnce(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no-such-dir", "ha-log")
	tests := []struct {
		name        string
		path        string
		errText     string
		reopenFails bool // disk full: opening works, writing does not
	}{
		{"directory missing", missing, "no such file or directory", true},
		{"path is a directory", dir, "is a directory", true},
		{"disk full", "/dev/full", "no space left on device", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path == "/dev/full" {
				if _, err := os.Stat("/dev/full"); err != nil {
					t.Skip("no /dev/full here")
				}
			}
			l, stderr := newTestLogger(t, Outputs{Logfile: tc.path})
			for i := range 5 {
				l.Infof("line %d", i)
			}
			got := lines(stderr.String())
			warns := 0
			for _, s := range got {
				if strings.Contains(s, " WARN: ") {
					warns++
					if !strings.Contains(s, tc.path) || !strings.Contains(s, tc.errText) {
						t.Errorf("warning %q does not name %s and %q", s, tc.path, tc.errText)
					}
				}
			}
			if warns != 1 {
				t.Errorf("%d warnings on stderr, want exactly 1:\n%s", warns, stderr)
			}
			for i := range 5 {
				want := fmt.Sprintf("heartbeat[4242]: 2012/11/21_15:12:44 info: line %d", i)
				if !strings.Contains(stderr.String(), want+"\n") {
					t.Errorf("stderr lacks %q", want)
				}
			}
			if err := l.Reopen(); (err != nil) != tc.reopenFails {
				t.Errorf("Reopen of %s: error %v, want error: %v", tc.path, err, tc.reopenFails)
			}
			l.Info("after reopen")
			if !strings.HasSuffix(stderr.String(), "info: after reopen\n") {
				t.Errorf("line after Reopen not on stderr:\n%s", stderr)
			}
			if n := strings.Count(stderr.String(), " WARN: "); n != 1 {
				t.Errorf("%d warnings after a failed Reopen, want still 1", n)
			}
		})
	}
}

func TestFIFONeverBlocks(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan *testenv.LockedBuffer)
	go func() {
		l, stderr := newTestLogger(t, Outputs{Logfile: fifo})
		l.Info("not blocked")
		done <- stderr
	}()
	select {
	case stderr := <-done:
		s := stderr.String()
		if strings.Count(s, " WARN: ") != 1 || !strings.Contains(s, fifo) || !strings.Contains(s, "info: not blocked\n") {
			t.Errorf("stderr:\n%s", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("logging to a FIFO without a reader blocked")
	}
}

func TestFailedFileRecoversOnReopen(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ha")
	path := filepath.Join(dir, "ha-log")
	l, stderr := newTestLogger(t, Outputs{Logfile: path})
	l.Info("to stderr")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	l.Info("to file")
	if got, want := readFile(t, path), "heartbeat[4242]: 2012/11/21_15:12:44 info: to file\n"; got != want {
		t.Errorf("file %q, want %q", got, want)
	}
	s := stderr.String()
	if !strings.Contains(s, "info: to stderr\n") || strings.Contains(s, "info: to file\n") {
		t.Errorf("stderr has the wrong lines:\n%s", s)
	}
	if !strings.Contains(s, "info: logging to log file "+path+" again") {
		t.Errorf("stderr does not say the file works again:\n%s", s)
	}
	// A new failure is a new episode: reported again, once.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	l.Info("gone again")
	l.Info("still gone")
	if n := strings.Count(stderr.String(), " WARN: "); n != 2 {
		t.Errorf("%d warnings, want 2 (one per failure):\n%s", n, stderr)
	}
}

func TestRetriesOnItsOwnAfterRetryInterval(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "ha")
	path := filepath.Join(dir, "ha-log")
	var mu sync.Mutex
	now := fixedTime
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	l, err := New(Options{Outputs: Outputs{Logfile: path}, PID: 1, Stderr: &testenv.LockedBuffer{}, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l.Info("too early")
	mu.Lock()
	now = now.Add(RetryInterval)
	mu.Unlock()
	l.Info("retried")
	got := readFile(t, path)
	if strings.Contains(got, "too early") || !strings.Contains(got, "retried") {
		t.Errorf("file %q: want only the line after RetryInterval", got)
	}
}

func TestRotationWithoutSignal(t *testing.T) {
	tests := []struct {
		name   string
		rotate func(path string) error
	}{
		{"rename", func(p string) error { return os.Rename(p, p+".1") }},
		{"remove", os.Remove},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			logPath, debugPath := filepath.Join(dir, "ha-log"), filepath.Join(dir, "ha-debug")
			l, stderr := newTestLogger(t, Outputs{Logfile: logPath, Debugfile: debugPath})
			l.Info("before")
			for _, p := range []string{logPath, debugPath} {
				if err := tc.rotate(p); err != nil {
					t.Fatal(err)
				}
			}
			l.Info("after 1")
			l.Debug("after 2")
			if got, want := readFile(t, logPath), "heartbeat[4242]: 2012/11/21_15:12:44 info: after 1\n"; got != want {
				t.Errorf("logfile %q, want %q", got, want)
			}
			if got := lines(readFile(t, debugPath)); len(got) != 2 || !strings.HasSuffix(got[0], "info: after 1") || !strings.HasSuffix(got[1], "debug: after 2") {
				t.Errorf("debugfile lines %q", got)
			}
			if tc.name == "rename" {
				if got := readFile(t, logPath+".1"); got != "heartbeat[4242]: 2012/11/21_15:12:44 info: before\n" {
					t.Errorf("rotated file %q, want only the line before", got)
				}
			}
			if s := stderr.String(); s != "" {
				t.Errorf("stderr %q, want nothing", s)
			}
		})
	}
}

func TestReopenOpensAtOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha-log")
	l, _ := newTestLogger(t, Outputs{Logfile: path})
	l.Info("one")
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := l.Reopen(); err != nil {
		t.Fatalf("Reopen: %v", err)
	}
	// Reopen created the file before any line was logged.
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("after Reopen: %v", err)
	}
	l.Info("two")
	if got := readFile(t, path); !strings.HasSuffix(got, "info: two\n") || strings.Contains(got, "one") {
		t.Errorf("file after Reopen %q", got)
	}
}

func TestApplySwitchesOutputsWithoutLosingLines(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	l, stderr := newTestLogger(t, Outputs{Logfile: a})
	const writers, perWriter = 4, 500
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				l.Infof("w%d %d", w, i)
			}
		})
	}
	for i := range 20 {
		out := Outputs{Logfile: a}
		if i%2 == 0 {
			out.Logfile = b
		}
		if err := l.Apply(out); err != nil {
			t.Fatal(err)
		}
	}
	wg.Wait()
	all := append(lines(readFile(t, a)), lines(readFile(t, b))...)
	seen := map[string]bool{}
	for _, s := range all {
		if seen[s] {
			t.Fatalf("line written twice: %q", s)
		}
		seen[s] = true
	}
	if len(seen) != writers*perWriter {
		t.Errorf("%d lines across both files, want %d", len(seen), writers*perWriter)
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr %q", s)
	}
}

func TestApplyChangesDebugLevel(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha-log")
	l, _ := newTestLogger(t, Outputs{Logfile: path})
	l.Debug("hidden")
	if err := l.Apply(Outputs{Logfile: path, Debug: 1}); err != nil {
		t.Fatal(err)
	}
	l.Debug("shown")
	if err := l.Apply(Outputs{Logfile: path, Facility: "nosuch"}); err == nil {
		t.Error("Apply with an unknown facility succeeded")
	}
	l.Debug("still shown: a failed Apply changes nothing")
	got := readFile(t, path)
	if strings.Contains(got, "hidden") || !strings.Contains(got, "debug: shown") || !strings.Contains(got, "debug: still shown") {
		t.Errorf("file %q", got)
	}
}

func TestCloseSendsLaterLinesToStderr(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ha-log")
	l, stderr := newTestLogger(t, Outputs{Logfile: path})
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l.Info("late")
	if readFile(t, path) != "" || !strings.Contains(stderr.String(), "info: late\n") {
		t.Errorf("file %q stderr %q", readFile(t, path), stderr)
	}
	if err := l.Reopen(); err == nil {
		t.Error("Reopen after Close succeeded")
	}
}

func TestConcurrentLoggingRotationAndReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "ha-log")
	l, stderr := newTestLogger(t, Outputs{Logfile: path, Debugfile: filepath.Join(dir, "ha-debug")})
	const writers, perWriter = 8, 300
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			e := l.WithTag("IPaddr2", 100+w)
			for i := range perWriter {
				e.WithField("i", i).Info("line")
			}
		})
	}
	for i := range 10 {
		if err := os.Rename(path, fmt.Sprintf("%s.%d", path, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Error(err)
		}
		if i%3 == 0 {
			if err := l.Reopen(); err != nil {
				t.Error(err)
			}
		}
		time.Sleep(time.Millisecond)
	}
	wg.Wait()
	files, _ := filepath.Glob(path + "*")
	re := regexp.MustCompile(`^IPaddr2\[1\d\d\]: 2012/11/21_15:12:44 info: line i=\d+$`)
	total := 0
	for _, f := range files {
		for _, s := range lines(readFile(t, f)) {
			if !re.MatchString(s) {
				t.Fatalf("%s: malformed line %q", f, s)
			}
			total++
		}
	}
	if total != writers*perWriter {
		t.Errorf("%d lines across %d files, want %d", total, len(files), writers*perWriter)
	}
	if s := stderr.String(); s != "" {
		t.Errorf("stderr %q", s)
	}
}

func TestParseFacility(t *testing.T) {
	tests := []struct {
		name    string
		want    syslog.Priority
		ok, err bool
	}{
		{"local0", syslog.LOG_LOCAL0, true, false},
		{"local7", syslog.LOG_LOCAL7, true, false},
		{"LOCAL3", syslog.LOG_LOCAL3, true, false},
		{"daemon", syslog.LOG_DAEMON, true, false},
		{"authpriv", syslog.LOG_AUTHPRIV, true, false},
		{"auth", syslog.LOG_AUTH, true, false},
		{"user", syslog.LOG_USER, true, false},
		{"none", 0, false, false},
		{"", 0, false, false},
		{"local8", 0, false, true},
		{"info", 0, false, true},
	}
	for _, tc := range tests {
		got, ok, err := ParseFacility(tc.name)
		if got != tc.want || ok != tc.ok || (err != nil) != tc.err {
			t.Errorf("ParseFacility(%q) = %v, %v, %v; want %v, %v, err %v", tc.name, got, ok, err, tc.want, tc.ok, tc.err)
		}
	}
}
