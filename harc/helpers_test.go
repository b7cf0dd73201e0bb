package harc

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/logging"
	"github.com/hbdproject/hbd/hbd/paths"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// logSink keeps every log entry as the line the Heartbeat formatter writes.
type logSink struct {
	mu      sync.Mutex
	entries []logged
}

type logged struct {
	level logrus.Level
	tag   string
	pid   int
	msg   string
	line  string
}

func (s *logSink) Levels() []logrus.Level { return logrus.AllLevels }

func (s *logSink) Fire(e *logrus.Entry) error {
	f := logging.Formatter{Program: "heartbeat", PID: 1}
	b, err := f.Format(&logrus.Entry{Logger: e.Logger, Data: e.Data, Time: e.Time, Level: e.Level, Message: e.Message})
	if err != nil {
		return err
	}
	tag, _ := e.Data[logging.TagKey].(string)
	pid, _ := e.Data[logging.TagPIDKey].(int)
	s.mu.Lock()
	s.entries = append(s.entries, logged{e.Level, tag, pid, e.Message, strings.TrimSuffix(string(b), "\n")})
	s.mu.Unlock()
	return nil
}

func (s *logSink) all() []logged {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]logged(nil), s.entries...)
}

// text is every line, one per line.
func (s *logSink) text() string {
	var b strings.Builder
	for _, e := range s.all() {
		b.WriteString(e.line)
		b.WriteByte('\n')
	}
	return b.String()
}

// find returns the first entry whose message contains sub.
func (s *logSink) find(sub string) (logged, bool) {
	for _, e := range s.all() {
		if strings.Contains(e.msg, sub) {
			return e, true
		}
	}
	return logged{}, false
}

func newSink() (*logSink, *logrus.Logger) {
	s := &logSink{}
	l := &logrus.Logger{Out: io.Discard, Formatter: new(logrus.TextFormatter), Hooks: make(logrus.LevelHooks), Level: logrus.DebugLevel}
	l.AddHook(s)
	return s, l
}

// hangTimeout is the operation timeout of the tests in which one script
// hangs until it is killed: every other script of the test must end well
// within it, even on a loaded machine (a plain run of the test script has
// taken over 300 ms under load 10 with the race detector on 2 cores).
const hangTimeout = 2 * time.Second

// fixture is a configuration directory with test resource scripts.
type fixture struct {
	t    *testing.T
	dir  string // config dir: resource.d/, rc.d/
	ctl  string // control files: NAME.on, NAME.failstart, ...
	rec  string // record file every script appends to
	log  *logSink
	opts Options
}

// resScript is the test resource script. It appends "TIME NAME ARGS" to
// $REC and obeys control files in $CTL:
//
//	NAME.on           it runs (start creates it, stop removes it)
//	NAME.failstart    start fails with exit 7
//	NAME.failstop     stop fails with exit 5 (and leaves NAME.on)
//	NAME.stopanyway   with failstop: stop removes NAME.on, then fails
//	NAME.silentstatus status prints nothing and exits 0
//	NAME.slowstart    start sleeps that many seconds
//	NAME.slowstatus   status sleeps that many seconds
//
// status prints "NAME is running" (exit 0) or "NAME is not running"
// (exit 3), as LSB init scripts do.
const resScript = `#!/bin/sh
name=$(basename "$0")
for a; do op=$a; done
echo "$(date +%s.%N) $name $*" >> "$REC"
case "$op" in
start)
	if [ -e "$CTL/$name.slowstart" ]; then sleep "$(cat "$CTL/$name.slowstart")"; fi
	if [ -e "$CTL/$name.failstart" ]; then echo "starting $name"; echo "cannot start $name: boom" >&2; exit 7; fi
	touch "$CTL/$name.on"; echo "$name started";;
stop)
	if [ -e "$CTL/$name.failstop" ]; then
		if [ -e "$CTL/$name.stopanyway" ]; then rm -f "$CTL/$name.on"; fi
		echo "cannot stop $name"; exit 5
	fi
	rm -f "$CTL/$name.on";;
status)
	if [ -e "$CTL/$name.slowstatus" ]; then sleep "$(cat "$CTL/$name.slowstatus")"; fi
	if [ -e "$CTL/$name.silentstatus" ]; then exit 0; fi
	if [ -e "$CTL/$name.on" ]; then echo "$name is running"; exit 0; fi
	echo "$name is not running"; exit 3;;
esac
exit 0
`

func newFixture(t *testing.T, names ...string) *fixture {
	t.Helper()
	root := t.TempDir()
	f := &fixture{t: t, dir: filepath.Join(root, "ha.d"), ctl: filepath.Join(root, "ctl"), rec: filepath.Join(root, "record")}
	for _, d := range []string{f.dir, filepath.Join(f.dir, paths.ResourceDir), filepath.Join(f.dir, paths.RcDir), f.ctl} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range names {
		f.script(n, resScript)
	}
	var lg *logrus.Logger
	f.log, lg = newSink()
	f.opts = Options{
		ConfigDir:         f.dir,
		Node:              "node1",
		Log:               lg,
		Timeout:           5 * time.Second,
		KillGrace:         200 * time.Millisecond,
		StopRetries:       2,
		StopRetryInterval: 20 * time.Millisecond,
		RscTmp:            filepath.Join(root, "rsctmp"),
		StateDir:          filepath.Join(root, "state"),
		Logfile:           filepath.Join(root, "ha-log"),
		Debugfile:         filepath.Join(root, "ha-debug"),
		Env:               map[string]string{"REC": f.rec, "CTL": f.ctl},
		PID:               4242,
	}
	return f
}

// script writes resource.d/NAME.
func (f *fixture) script(name, body string) string {
	f.t.Helper()
	p := filepath.Join(f.dir, paths.ResourceDir, name)
	if err := testenv.WriteExecutable(p, []byte(body), 0o755); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// hook writes rc.d/EVENT with exactly mode (whatever the umask).
func (f *fixture) hook(event, body string, mode os.FileMode) {
	f.t.Helper()
	p := filepath.Join(f.dir, paths.RcDir, event)
	if err := testenv.WriteExecutable(p, []byte(body), mode); err != nil {
		f.t.Fatal(err)
	}
}

// set creates control file NAME.what (with content, if any).
func (f *fixture) set(file, content string) {
	f.t.Helper()
	if err := os.WriteFile(filepath.Join(f.ctl, file), []byte(content), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) exists(file string) bool {
	_, err := os.Stat(filepath.Join(f.ctl, file))
	return err == nil
}

func (f *fixture) runner() *Runner {
	f.t.Helper()
	r, err := New(f.opts)
	if err != nil {
		f.t.Fatal(err)
	}
	return r
}

// group builds a group of resource specs, scripts in resource.d.
func (f *fixture) group(specs ...string) config.Group {
	g := config.Group{Preferred: "node1"}
	for _, s := range specs {
		parts := strings.Split(s, "::")
		g.Resources = append(g.Resources, config.Resource{
			Spec: s, Name: parts[0], Args: parts[1:],
			Script: config.Script{Kind: config.ScriptFile, Path: filepath.Join(f.dir, paths.ResourceDir, parts[0])},
		})
	}
	return g
}

// record is one line of the record file.
type record struct {
	at   float64
	name string
	args string // arguments, op last
}

func (f *fixture) records() []record {
	f.t.Helper()
	fh, err := os.Open(f.rec)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		f.t.Fatal(err)
	}
	defer fh.Close()
	var out []record
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		w := strings.SplitN(sc.Text(), " ", 3)
		if len(w) < 3 {
			f.t.Fatalf("bad record line %q", sc.Text())
		}
		at, err := strconv.ParseFloat(w[0], 64)
		if err != nil {
			f.t.Fatalf("bad time in %q", sc.Text())
		}
		out = append(out, record{at, w[1], w[2]})
	}
	return out
}

// waitLog waits until a line containing sub has been logged.
func (f *fixture) waitLog(sub string) {
	f.t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(2 * time.Millisecond) {
		if _, ok := f.log.find(sub); ok {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("no line says %q in 10s:\n%s", sub, f.log.text())
		}
	}
}

// waitOp waits until op ("NAME ARGS") has begun n times: the test script
// records an operation before it does anything else.
func (f *fixture) waitOp(op string, n int) {
	f.t.Helper()
	count := func() int {
		k := 0
		for _, o := range f.ops(true) {
			if o == op {
				k++
			}
		}
		return k
	}
	for deadline := time.Now().Add(10 * time.Second); count() < n; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			f.t.Fatalf("%q not begun %d times in 10s; ran %q", op, n, f.ops(true))
		}
	}
}

// ops is the records as "NAME ARGS" strings in the order the scripts
// began, status runs left out unless withStatus. A status may run beside
// a start (lookahead.go), and the two append to the file in either order:
// the records are sorted by their time.
func (f *fixture) ops(withStatus bool) []string {
	f.t.Helper()
	var out []string
	recs := f.records()
	sort.SliceStable(recs, func(i, j int) bool { return recs[i].at < recs[j].at })
	for _, r := range recs {
		if !withStatus && strings.HasSuffix(r.args, "status") {
			continue
		}
		out = append(out, r.name+" "+r.args)
	}
	return out
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	st, ok := readProcStat(pid)
	return ok && st.live()
}

func readPID(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		b, err := os.ReadFile(path)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no pid in %s", path)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func killIfAlive(pid int) {
	if pid > 0 && alive(pid) {
		p, err := os.FindProcess(pid)
		if err == nil {
			_ = p.Kill()
		}
	}
}

// resourceOf builds a resource with a given script.
func resourceOf(spec string, script config.Script) config.Resource {
	parts := strings.Split(spec, "::")
	return config.Resource{Spec: spec, Name: parts[0], Args: parts[1:], Script: script}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func fsMode(m uint32) os.FileMode { return os.FileMode(m) }
