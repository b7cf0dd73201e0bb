package monitor

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/paths"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// svcScript is a resource script managing a pretend service per name:
// its marker file STATE/NAME.up. Every run is recorded in STATE/record.
// STATE/NAME.broken makes start fail, STATE/NAME.hang makes monitor hang.
// A run with a fencing token is recorded in STATE/tokens too.
const svcScript = `#!/bin/sh
st="$MON_STATE"; name="$1"; op="$2"
echo "$name $op" >> "$st/record"
[ -z "$HA_FENCING_TOKEN" ] || echo "$name $op $HA_FENCING_TOKEN" >> "$st/tokens"
case "$op" in
start) if [ -e "$st/$name.broken" ]; then echo "cannot start $name" >&2; exit 1; fi; touch "$st/$name.up";;
stop) rm -f "$st/$name.up";;
status) if [ -e "$st/$name.up" ]; then echo "$name is running"; else echo "$name is stopped"; fi;;
monitor) if [ -e "$st/$name.hang" ]; then sleep 30; fi; [ -e "$st/$name.up" ] || exit 7;;
*) echo "usage: $0 NAME {start|stop|status|monitor}"; exit 1;;
esac
`

// legacyScript knows start, stop and status only, as Heartbeat-era
// scripts do.
const legacyScript = `#!/bin/sh
st="$MON_STATE"; name="$1"; op="$2"
echo "$name $op" >> "$st/record"
case "$op" in
start) touch "$st/$name.up";;
stop) rm -f "$st/$name.up";;
status) if [ -e "$st/$name.up" ]; then echo running; else echo stopped; fi;;
*) echo "Usage: legacy NAME {start|stop|status}"; exit 1;;
esac
`

// lab is a configuration directory with the two scripts, a harc runner
// and a Set whose Failed calls are collected.
type lab struct {
	t      *testing.T
	dir    string // config dir
	state  string // MON_STATE
	runner *harc.Runner
	set    *Set
	logBuf *testenv.LockedBuffer

	mu     sync.Mutex
	failed []Failure
}

func newLab(t *testing.T) *lab {
	t.Helper()
	l := &lab{t: t, dir: t.TempDir(), state: t.TempDir(), logBuf: &testenv.LockedBuffer{}}
	rd := filepath.Join(l.dir, paths.ResourceDir)
	if err := os.MkdirAll(rd, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{"svc": svcScript, "legacy": legacyScript} {
		if err := os.WriteFile(filepath.Join(rd, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lg := logrus.New()
	lg.SetOutput(l.logBuf)
	lg.SetLevel(logrus.DebugLevel)
	r, err := harc.New(harc.Options{ConfigDir: l.dir, Node: "node1", Log: lg, Timeout: 10 * time.Second,
		KillGrace: 200 * time.Millisecond, StopRetries: -1, StateDir: l.state, RscTmp: l.state,
		Env: map[string]string{"MON_STATE": l.state}})
	if err != nil {
		t.Fatal(err)
	}
	l.runner = r
	l.set = New(Options{Runner: r, Log: lg, Failed: func(_ context.Context, f Failure) {
		l.mu.Lock()
		defer l.mu.Unlock()
		l.failed = append(l.failed, f)
	}})
	t.Cleanup(func() {
		l.set.Close()
		if t.Failed() {
			t.Logf("log:\n%s", l.logBuf.String())
		}
	})
	return l
}

// group builds a group of script::name resources and starts it.
func (l *lab) group(specs ...string) config.Group {
	l.t.Helper()
	g := config.Group{Preferred: "node1"}
	for _, sp := range specs {
		parts := strings.Split(sp, "::")
		g.Resources = append(g.Resources, config.Resource{Spec: sp, Name: parts[0], Args: parts[1:],
			Script: config.Script{Kind: config.ScriptFile, Path: filepath.Join(l.dir, paths.ResourceDir, parts[0])}})
	}
	if err := l.runner.Start(context.Background(), g); err != nil {
		l.t.Fatalf("start: %v", err)
	}
	l.clearRecord()
	return g
}

// mon is a monitor line for resource index i of g.
func mon(g config.Group, i int, interval time.Duration, restarts int, window time.Duration) config.Monitor {
	return config.Monitor{Resource: g.Resources[i].Spec, Group: g.Key(), Index: i, Interval: interval,
		Timeout: 5 * time.Second, Restarts: restarts, Window: window, Op: config.MonitorAuto}
}

func (l *lab) clearRecord() {
	if err := os.Remove(filepath.Join(l.state, "record")); err != nil && !os.IsNotExist(err) {
		l.t.Fatal(err)
	}
}

// kill stops a pretend service behind hbd's back.
func (l *lab) kill(name string) {
	l.t.Helper()
	if err := os.Remove(filepath.Join(l.state, name+".up")); err != nil {
		l.t.Fatalf("kill %s: %v", name, err)
	}
}

func (l *lab) touch(name string) {
	l.t.Helper()
	if err := os.WriteFile(filepath.Join(l.state, name), nil, 0o644); err != nil {
		l.t.Fatal(err)
	}
}

func (l *lab) up(name string) bool {
	_, err := os.Stat(filepath.Join(l.state, name+".up"))
	return err == nil
}

// actions returns the recorded start and stop runs, in order.
func (l *lab) actions() []string {
	b, _ := os.ReadFile(filepath.Join(l.state, "record"))
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if strings.HasSuffix(line, " start") || strings.HasSuffix(line, " stop") {
			out = append(out, line)
		}
	}
	return out
}

func (l *lab) runs(op string) int {
	b, _ := os.ReadFile(filepath.Join(l.state, "record"))
	return strings.Count(string(b), " "+op+"\n")
}

func (l *lab) failures() []Failure {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.failed)
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (l *lab) status(m config.Monitor) ResourceStatus {
	return l.set.Status([]config.Monitor{m})[0]
}

func TestFailedMonitorRestartsTheResourceAndWhatFollowsIt(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a", "svc::b", "svc::c")
	m := mon(g, 1, 100*time.Millisecond, 2, time.Minute)
	l.set.Hold(g, []config.Monitor{m})
	waitFor(t, 5*time.Second, "a first check", func() bool { return l.status(m).Checks >= 1 })
	if st := l.status(m); st.Op != "monitor" || st.State == StateIdle || st.NextCheck == nil || st.FailCount != 0 {
		t.Errorf("after a good check: %+v", st)
	}

	l.kill("b")
	want := []string{"c stop", "b stop", "b start", "c start"}
	// A script records its run as it begins: the restart is over when
	// the status counts it.
	waitFor(t, 10*time.Second, "the restart", func() bool { return len(l.actions()) >= len(want) && l.status(m).LocalRestarts == 1 })
	if got := l.actions(); !slices.Equal(got, want) {
		t.Errorf("restart ran %q, want %q (a, left of b, untouched)", got, want)
	}
	if !l.up("a") || !l.up("b") || !l.up("c") {
		t.Errorf("not everything runs after the restart")
	}
	st := l.status(m)
	if st.FailCount != 1 || st.Failures != 1 || st.LocalRestarts != 1 || st.LastFailure == nil ||
		!strings.Contains(st.LastFailureReason, "exit code 7") {
		t.Errorf("status after one restart: %+v", st)
	}
	if len(l.failures()) != 0 {
		t.Errorf("group given up after one failure with restarts=2: %+v", l.failures())
	}
	// Monitoring goes on: a later check passes.
	checks := st.Checks
	waitFor(t, 5*time.Second, "checks after the restart", func() bool { return l.status(m).Checks > checks+1 })
	if st := l.status(m); st.FailCount != 1 {
		t.Errorf("fail count %d after good checks, want 1 (kept within the window)", st.FailCount)
	}
	for _, s := range []string{"Monitor of svc::b (group svc::a) failed", "Restarting svc::b here (restart 1 of 2", "Restarted svc::b svc::c here"} {
		if !strings.Contains(l.logBuf.String(), s) {
			t.Errorf("log lacks %q", s)
		}
	}
}

// TestHoldWithRestartsWithTheToken: a group held with a fencing token
// restarts its resources with it; the watch does not end with the
// context it was held with.
func TestHoldWithRestartsWithTheToken(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a", "svc::b")
	m := mon(g, 1, 100*time.Millisecond, 2, time.Minute)
	ctx, cancel := context.WithCancel(harc.WithFencingToken(context.Background(), 42))
	l.set.HoldWith(ctx, g, []config.Monitor{m})
	cancel()
	l.kill("b")
	waitFor(t, 10*time.Second, "the restart", func() bool { return l.status(m).LocalRestarts == 1 })
	b, _ := os.ReadFile(filepath.Join(l.state, "tokens"))
	for _, want := range []string{"b monitor 42\n", "b stop 42\n", "b start 42\n"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("runs with a token:\n%s\nlack %q", b, want)
		}
	}
}

func TestFailuresPastRestartsGiveTheGroupUp(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a", "svc::b")
	m := mon(g, 0, 100*time.Millisecond, 1, time.Minute)
	l.set.Hold(g, []config.Monitor{m})

	l.kill("a")
	waitFor(t, 10*time.Second, "the first restart", func() bool { return l.status(m).LocalRestarts == 1 })
	if len(l.failures()) != 0 {
		t.Fatalf("given up at the first failure with restarts=1")
	}
	l.kill("a")
	waitFor(t, 10*time.Second, "the group given up", func() bool { return len(l.failures()) == 1 })
	f := l.failures()[0]
	if f.Group != "svc::a" || f.Resource != "svc::a" || !strings.Contains(f.Detail, "failed 2 time(s) within 1m0s, more than restarts=1") {
		t.Errorf("failure %+v", f)
	}
	st := l.status(m)
	if st.State != StateFailed || st.FailCount != 2 || st.LocalRestarts != 1 || st.NextCheck != nil {
		t.Errorf("status after giving up: %+v", st)
	}
	// No second restart, no more checks: the core stops the group now.
	time.Sleep(400 * time.Millisecond)
	if got := l.actions(); !slices.Equal(got, []string{"b stop", "a stop", "a start", "b start"}) {
		t.Errorf("runs %q, want one restart only", got)
	}
	if len(l.failures()) != 1 {
		t.Errorf("Failed called %d times", len(l.failures()))
	}
	if !strings.Contains(l.logBuf.String(), "Resource group svc::a failed here") {
		t.Errorf("no CRIT line for the given-up group")
	}
	l.set.Release(g.Key())()
	if st := l.status(m); st.State != StateFailed {
		t.Errorf("released after giving up: state %s, want failed kept", st.State)
	}
	// Held again (a new start): a fresh window.
	l.touch("a.up")
	l.set.Hold(g, []config.Monitor{m})
	if st := l.status(m); st.State != StateWatching || st.FailCount != 0 || st.Failures != 2 {
		t.Errorf("held again: %+v", st)
	}
}

func TestRestartsZeroFailsOverAtOnce(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a")
	m := mon(g, 0, 100*time.Millisecond, 0, time.Minute)
	l.set.Hold(g, []config.Monitor{m})
	l.kill("a")
	waitFor(t, 10*time.Second, "the group given up", func() bool { return len(l.failures()) == 1 })
	if got := l.actions(); len(got) != 0 {
		t.Errorf("restarts=0 ran %q", got)
	}
}

func TestFailuresOutsideTheWindowAreForgotten(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a")
	m := mon(g, 0, 100*time.Millisecond, 1, 600*time.Millisecond)
	l.set.Hold(g, []config.Monitor{m})
	for i := 1; i <= 3; i++ {
		l.kill("a")
		waitFor(t, 10*time.Second, "a restart", func() bool { return l.status(m).LocalRestarts == i })
		time.Sleep(700 * time.Millisecond)
	}
	if len(l.failures()) != 0 {
		t.Errorf("given up although no two failures fell within the window: %+v", l.failures())
	}
	if st := l.status(m); st.Failures != 3 || st.FailCount != 1 {
		t.Errorf("status: %+v, want 3 failures in all, 1 within the window", st)
	}
}

func TestScriptWithoutMonitorIsCheckedWithStatus(t *testing.T) {
	l := newLab(t)
	g := l.group("legacy::x", "svc::y")
	m := mon(g, 0, 100*time.Millisecond, 2, time.Minute)
	l.set.Hold(g, []config.Monitor{m})
	waitFor(t, 5*time.Second, "a check", func() bool { return l.status(m).Checks >= 2 })
	if st := l.status(m); st.Op != "status" || st.FailCount != 0 {
		t.Errorf("legacy script: %+v, want op status and no failure", st)
	}
	if !strings.Contains(l.logBuf.String(), "legacy::x does not know the monitor operation (exit code 1") {
		t.Errorf("the fallback is not logged")
	}
	if n := l.runs("monitor"); n != 1 {
		t.Errorf("monitor tried %d times, want once", n)
	}
	l.kill("x")
	waitFor(t, 10*time.Second, "the restart", func() bool { return l.status(m).LocalRestarts == 1 })
	if got := l.actions(); !slices.Equal(got, []string{"y stop", "x stop", "x start", "y start"}) {
		t.Errorf("runs %q", got)
	}
	if st := l.status(m); !strings.Contains(st.LastFailureReason, `status exit code 0; status output says neither "running" nor "OK": "stopped"`) {
		t.Errorf("reason %q", st.LastFailureReason)
	}
}

func TestOpStatusNeverRunsMonitor(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a")
	m := mon(g, 0, 50*time.Millisecond, 2, time.Minute)
	m.Op = config.MonitorStatus
	l.set.Hold(g, []config.Monitor{m})
	waitFor(t, 5*time.Second, "checks", func() bool { return l.status(m).Checks >= 3 })
	if n := l.runs("monitor"); n != 0 {
		t.Errorf("op=status ran monitor %d times", n)
	}
}

func TestCheckTimeoutIsAFailure(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a")
	m := mon(g, 0, 50*time.Millisecond, 0, time.Minute)
	m.Timeout = 300 * time.Millisecond
	l.touch("a.hang")
	start := time.Now()
	l.set.Hold(g, []config.Monitor{m})
	waitFor(t, 10*time.Second, "the group given up", func() bool { return len(l.failures()) == 1 })
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("a 300ms timeout took %v", el)
	}
	if f := l.failures()[0]; !strings.Contains(f.Detail, "timed out") {
		t.Errorf("detail %q does not say it timed out", f.Detail)
	}
}

func TestReleaseCancelsACheckAndWaits(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a")
	m := mon(g, 0, 50*time.Millisecond, 2, time.Minute)
	l.touch("a.hang")
	l.set.Hold(g, []config.Monitor{m})
	waitFor(t, 5*time.Second, "a hanging check", func() bool { return l.runs("monitor") == 1 })
	time.Sleep(100 * time.Millisecond)
	start := time.Now()
	l.set.Release(g.Key())()
	if el := time.Since(start); el > 3*time.Second {
		t.Errorf("release waited %v", el)
	}
	time.Sleep(300 * time.Millisecond)
	if len(l.failures()) != 0 || len(l.actions()) != 0 || l.runs("monitor") != 1 {
		t.Errorf("after release: failures %v, runs %q, %d monitor runs", l.failures(), l.actions(), l.runs("monitor"))
	}
	if st := l.status(m); st.State != StateIdle || st.NextCheck != nil || st.FailCount != 0 {
		t.Errorf("status after release: %+v", st)
	}
}

func TestFailedRestartGivesTheGroupUp(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a", "svc::b")
	m := mon(g, 1, 100*time.Millisecond, 3, time.Minute)
	l.set.Hold(g, []config.Monitor{m})
	l.touch("b.broken")
	l.kill("b")
	waitFor(t, 10*time.Second, "the group given up", func() bool { return len(l.failures()) == 1 })
	if f := l.failures()[0]; !strings.Contains(f.Detail, "restart of svc::b: the start failed") {
		t.Errorf("detail %q", f.Detail)
	}
	if !l.up("a") {
		t.Errorf("a, left of b, was stopped by the restart")
	}
}

func TestStatusListsEveryMonitorLine(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a", "svc::b")
	held := mon(g, 0, time.Hour, 2, time.Minute)
	other := config.Monitor{Resource: "svc::z", Group: "svc::z", Interval: time.Second, Timeout: time.Second, Restarts: 1, Window: time.Minute, Op: config.MonitorStatus}
	l.set.Hold(g, []config.Monitor{held})
	got := l.set.Status([]config.Monitor{held, other})
	if len(got) != 2 {
		t.Fatalf("status %+v", got)
	}
	if got[0].State != StateWatching || got[0].NextCheck == nil || time.Until(*got[0].NextCheck) < 50*time.Minute {
		t.Errorf("held: %+v", got[0])
	}
	if got[1].State != StateIdle || got[1].Op != "status" || got[1].Interval != "1s" || got[1].NextCheck != nil {
		t.Errorf("not held: %+v", got[1])
	}
}

func TestHoldWithoutMonitorsWatchesNothing(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a")
	l.set.Hold(g, nil)
	l.kill("a")
	time.Sleep(300 * time.Millisecond)
	if len(l.actions()) != 0 || l.runs("monitor") != 0 || l.runs("status") != 0 {
		t.Errorf("unmonitored group touched: %q", l.actions())
	}
}

func TestUnsupportedAndReadMonitor(t *testing.T) {
	tests := []struct {
		name            string
		r               harc.Result
		unsupported, ok bool
	}{
		{"exit 0 silent", harc.Result{ExitCode: 0}, false, true},
		{"exit 0 running", harc.Result{ExitCode: 0, Stdout: "running\n"}, false, true},
		{"exit 0 but says not running", harc.Result{ExitCode: 0, Stdout: "web is not running\n"}, false, false},
		{"exit 0 but says stopped", harc.Result{ExitCode: 0, Stdout: "stopped\n"}, false, false},
		{"OCF not running", harc.Result{ExitCode: 7}, false, false},
		{"OCF unimplemented", harc.Result{ExitCode: 3}, true, false},
		{"built-in stopped (exit 3, says stopped)", harc.Result{ExitCode: 3, Stdout: "stopped\n", Output: "stopped\n"}, false, false},
		{"usage, exit 1", harc.Result{ExitCode: 1, Stdout: "Usage: x {start|stop|status}\n", Output: "Usage: x {start|stop|status}\n"}, true, false},
		{"error, exit 1", harc.Result{ExitCode: 1, Output: "connection refused\n"}, false, false},
		{"timed out", harc.Result{ExitCode: -1, TimedOut: true}, false, false},
	}
	for _, tt := range tests {
		if got := unsupported(tt.r); got != tt.unsupported {
			t.Errorf("%s: unsupported = %v", tt.name, got)
		}
		if got, why := readMonitor(tt.r); got != tt.ok {
			t.Errorf("%s: readMonitor = %v (%s)", tt.name, got, why)
		}
	}
}

// TestSetRunnerRunsLaterChecks: after SetRunner (a reload's runner), the
// next checks run through the new runner and its environment.
func TestSetRunnerRunsLaterChecks(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a")
	m := mon(g, 0, 50*time.Millisecond, 0, time.Minute)
	l.set.Hold(g, []config.Monitor{m})
	waitFor(t, 5*time.Second, "good checks", func() bool { return l.status(m).Checks >= 3 })
	if len(l.failures()) != 0 {
		t.Fatalf("failures with the first runner: %+v", l.failures())
	}
	// The new runner's scripts look for the service in another state
	// directory, where it does not run: its first check fails.
	o := l.runner.Options()
	o.Env = map[string]string{"MON_STATE": t.TempDir()}
	r2, err := harc.New(o)
	if err != nil {
		t.Fatal(err)
	}
	l.set.SetRunner(r2)
	waitFor(t, 5*time.Second, "a check through the new runner", func() bool { return len(l.failures()) == 1 })
}

// TestMonitorRecordNamesItsGroup: a monitor's check is recorded (while
// it runs) as a script of the group it watches, so that a daemon that
// finds it left behind names the group.
func TestMonitorRecordNamesItsGroup(t *testing.T) {
	l := newLab(t)
	g := l.group("svc::a")
	rs, err := harc.OpenRecords(filepath.Join(t.TempDir(), "scripts"), nil)
	if err != nil {
		t.Fatal(err)
	}
	o := l.runner.Options()
	o.Records = rs
	r2, err := harc.New(o)
	if err != nil {
		t.Fatal(err)
	}
	l.set.SetRunner(r2)
	l.touch("a.hang")
	l.set.Hold(g, []config.Monitor{mon(g, 0, 20*time.Millisecond, 0, time.Minute)})
	want := `"group":"` + g.Key() + `"`
	var seen []string
	waitFor(t, 5*time.Second, "a record of the hanging monitor", func() bool {
		ents, _ := os.ReadDir(rs.Dir())
		seen = seen[:0]
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(rs.Dir(), e.Name()))
			if strings.Contains(string(b), `"op":"monitor"`) {
				seen = append(seen, string(b))
			}
		}
		return len(seen) > 0
	})
	if !strings.Contains(seen[0], want) {
		t.Errorf("record %s, want %s", seen[0], want)
	}
}
