package harc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/config"
)

func TestStartStopOrder(t *testing.T) {
	f := newFixture(t, "A", "B", "C")
	r := f.runner()
	g := f.group("A::x::y", "B", "C::z")
	if err := r.Start(context.Background(), g); err != nil {
		t.Fatalf("Start: %v\n%s", err, f.log.text())
	}
	want := []string{
		"A x y status", "A x y start",
		"B status", "B start",
		"C z status", "C z start",
	}
	if got := f.ops(true); !slices.Equal(got, want) {
		t.Fatalf("start ran %q, want %q", got, want)
	}
	for _, n := range []string{"A", "B", "C"} {
		if !f.exists(n + ".on") {
			t.Errorf("%s did not start", n)
		}
	}
	if err := r.Stop(context.Background(), g); err != nil {
		t.Fatalf("Stop: %v\n%s", err, f.log.text())
	}
	want = append(want, "C z stop", "B stop", "A x y stop")
	if got := f.ops(true); !slices.Equal(got, want) {
		t.Fatalf("start+stop ran %q, want %q", got, want)
	}

	// Heartbeat's lines, in order, tagged ResourceManager[PID].
	rs := filepath.Join(f.dir, "resource.d")
	wantLines := []string{
		"info: Acquiring resource group: node1 A::x::y B C::z",
		"info: Running " + rs + "/A x y start",
		"info: Running " + rs + "/B  start", // no arguments: two spaces, as Heartbeat
		"info: Running " + rs + "/C z start",
		"info: Releasing resource group: node1 A::x::y B C::z",
		"info: Running " + rs + "/C z stop",
		"info: Running " + rs + "/B  stop",
		"info: Running " + rs + "/A x y stop",
	}
	text := f.log.text()
	at := 0
	for _, w := range wantLines {
		i := strings.Index(text[at:], w)
		if i < 0 {
			t.Fatalf("log lacks %q (in order) in:\n%s", w, text)
		}
		at += i + len(w)
	}
	if e, ok := f.log.find("Acquiring resource group"); !ok || e.tag != "ResourceManager" || e.pid != 4242 ||
		!strings.HasPrefix(e.line, "ResourceManager[4242]: ") {
		t.Errorf("Acquiring line not tagged ResourceManager[4242]: %+v", e)
	}
	if e, ok := f.log.find(rs + "/B  start done. RC=0"); !ok || e.level != logrus.DebugLevel {
		t.Errorf("no debug line \"... done. RC=0\" for B: %+v\n%s", e, text)
	}
}

func TestStartSkipsWhatRuns(t *testing.T) {
	f := newFixture(t, "A", "B", "C")
	f.set("B.on", "")
	r := f.runner()
	if err := r.Start(context.Background(), f.group("A", "B", "C")); err != nil {
		t.Fatal(err)
	}
	want := []string{"A start", "C start"}
	if got := f.ops(false); !slices.Equal(got, want) {
		t.Fatalf("ran %q, want %q", got, want)
	}
	if _, ok := f.log.find("Resource B is already running"); !ok {
		t.Errorf("no line says B already runs:\n%s", f.log.text())
	}
}

func TestStartFailureRollsBack(t *testing.T) {
	tests := []struct {
		name      string
		setup     func(f *fixture)
		specs     []string
		failed    string
		wantOps   []string
		wantRC    int
		wantLines []string // in the error and the log
		timedOut  bool
	}{
		{
			name:      "middle resource fails",
			setup:     func(f *fixture) { f.set("B.failstart", "") },
			specs:     []string{"A", "B::1::2", "C"},
			failed:    "B::1::2",
			wantOps:   []string{"A start", "B 1 2 start", "B 1 2 stop", "A stop"},
			wantRC:    7,
			wantLines: []string{"starting B", "cannot start B: boom"},
		},
		{
			name:    "first resource fails",
			setup:   func(f *fixture) { f.set("A.failstart", "") },
			specs:   []string{"A", "B"},
			failed:  "A",
			wantOps: []string{"A start", "A stop"},
			wantRC:  7,
		},
		{
			name:     "start times out",
			setup:    func(f *fixture) { f.set("C.slowstart", "30"); f.opts.Timeout = 300 * time.Millisecond },
			specs:    []string{"A", "B", "C"},
			failed:   "C",
			wantOps:  []string{"A start", "B start", "C start", "C stop", "B stop", "A stop"},
			wantRC:   -1,
			timedOut: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "A", "B", "C")
			tc.setup(f)
			r := f.runner()
			start := time.Now()
			err := r.Start(context.Background(), f.group(tc.specs...))
			if time.Since(start) > 5*time.Second {
				t.Errorf("Start took %v", time.Since(start))
			}
			if !errors.Is(err, ErrStartFailed) || errors.Is(err, ErrStopFailed) {
				t.Fatalf("err = %v, want ErrStartFailed only", err)
			}
			var se *StartError
			if !errors.As(err, &se) {
				t.Fatalf("err %T is not a *StartError", err)
			}
			if se.Resource != tc.failed || se.Result.ExitCode != tc.wantRC || se.Result.TimedOut != tc.timedOut {
				t.Errorf("StartError names %s rc %d timedOut %v; want %s rc %d timedOut %v",
					se.Resource, se.Result.ExitCode, se.Result.TimedOut, tc.failed, tc.wantRC, tc.timedOut)
			}
			if got := f.ops(false); !slices.Equal(got, tc.wantOps) {
				t.Errorf("ran %q, want %q", got, tc.wantOps)
			}
			for _, n := range tc.specs {
				name := strings.Split(n, "::")[0]
				if f.exists(name + ".on") {
					t.Errorf("%s still runs after the rollback", name)
				}
			}
			msg := err.Error()
			for _, w := range append([]string{tc.failed, filepath.Join(f.dir, "resource.d", strings.Split(tc.failed, "::")[0])}, tc.wantLines...) {
				if !strings.Contains(msg, w) {
					t.Errorf("error lacks %q: %s", w, msg)
				}
			}
			text := f.log.text()
			crit, ok := f.log.find("Giving up resources due to failure of " + tc.failed)
			if !ok || levelWord(crit) != "CRIT" {
				t.Errorf("no CRIT Giving up line:\n%s", text)
			}
			if !tc.timedOut && !strings.Contains(text, "ERROR: Return code 7 from "+filepath.Join(f.dir, "resource.d", strings.Split(tc.failed, "::")[0])) {
				t.Errorf("no Return code line:\n%s", text)
			}
			if tc.timedOut && !strings.Contains(text, "timed out after") {
				t.Errorf("no timeout line:\n%s", text)
			}
			for _, w := range tc.wantLines {
				if !strings.Contains(text, "ERROR: Last output of") || !strings.Contains(text, w) {
					t.Errorf("log lacks the output line %q:\n%s", w, text)
				}
			}
		})
	}
}

// levelWord is the word a line carries for its level.
func levelWord(e logged) string {
	switch e.level {
	case logrus.FatalLevel, logrus.PanicLevel:
		return "CRIT"
	case logrus.ErrorLevel:
		return "ERROR"
	case logrus.WarnLevel:
		return "WARN"
	case logrus.InfoLevel:
		return "info"
	}
	return "debug"
}

func TestStopFailure(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(f *fixture)
		wantErr    bool
		wantOps    []string
		wantInLog  []string
		wantReason string
	}{
		{
			name: "stop fails but the resource stopped: probably not LSB",
			setup: func(f *fixture) {
				f.set("B.failstop", "")
				f.set("B.stopanyway", "")
			},
			wantOps: []string{"C stop", "B stop", "B stop", "B stop", "A stop"},
			wantInLog: []string{
				"info: Retrying failed stop operation [B]",
				"ERROR: Resource script for B probably not LSB-compliant.",
				"WARN: it (B) MUST succeed on a stop when already stopped",
			},
		},
		{
			name:       "stop fails and the resource still runs: blocked",
			setup:      func(f *fixture) { f.set("B.failstop", "") },
			wantErr:    true,
			wantOps:    []string{"C stop", "B stop", "B stop", "B stop"},
			wantReason: `status output says "running"`,
			wantInLog: []string{
				"CRIT: Resource STOP failure: B:",
				"exit code 5 after 3 attempt(s)",
				`last output: "cannot stop B"`,
				"CRIT: Manual intervention required: B may still run here; the group A stays held by node1 and will not be started elsewhere.",
			},
		},
		{
			name: "silent status with exit code 0 is not proof of a stop",
			setup: func(f *fixture) {
				f.set("B.failstop", "")
				f.set("B.stopanyway", "")
				f.set("B.silentstatus", "")
			},
			wantErr:    true,
			wantOps:    []string{"C stop", "B stop", "B stop", "B stop"},
			wantReason: "exit code is 0",
			wantInLog:  []string{"CRIT: Resource STOP failure: B:"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "A", "B", "C")
			g := f.group("A", "B", "C")
			r := f.runner()
			if err := r.Start(context.Background(), g); err != nil {
				t.Fatal(err)
			}
			os.Remove(f.rec)
			tc.setup(f)
			err := r.Stop(context.Background(), g)
			if got := f.ops(false); !slices.Equal(got, tc.wantOps) {
				t.Errorf("ran %q, want %q", got, tc.wantOps)
			}
			text := f.log.text()
			for _, w := range tc.wantInLog {
				if !strings.Contains(text, w) {
					t.Errorf("log lacks %q:\n%s", w, text)
				}
			}
			if !tc.wantErr {
				if err != nil {
					t.Fatalf("Stop: %v", err)
				}
				return
			}
			var se *StopError
			if !errors.Is(err, ErrStopFailed) || !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *StopError", err)
			}
			if se.Resource != "B" || se.Attempts != 3 || se.Result.ExitCode != 5 || !strings.Contains(se.Reason, tc.wantReason) {
				t.Errorf("StopError %+v", se)
			}
			for _, w := range []string{"B", "exit code 5", "stays held by node1"} {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q: %v", w, err)
				}
			}
			if !f.exists("A.on") {
				t.Errorf("A was stopped although B, to its right, is stuck")
			}
		})
	}
}

func TestStopFailureReboot(t *testing.T) {
	f := newFixture(t, "A")
	marker := filepath.Join(f.ctl, "rebooted")
	f.opts.OnStopFailure = StopFailureReboot
	f.opts.RebootCommand = []string{"/bin/sh", "-c", `echo "$0 $1" > "$CTL/rebooted"`, "reboot", "-nf"}
	f.opts.StopRetries = -1
	r := f.runner()
	g := f.group("A")
	if err := r.Start(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	f.set("A.failstop", "")
	err := r.Stop(context.Background(), g)
	if !errors.Is(err, ErrStopFailed) {
		t.Fatalf("err = %v, want ErrStopFailed", err)
	}
	b, rerr := os.ReadFile(marker)
	if rerr != nil || strings.TrimSpace(string(b)) != "reboot -nf" {
		t.Errorf("reboot command did not run (%v, %q)", rerr, b)
	}
	if got := f.ops(false); !slices.Equal(got, []string{"A start", "A stop"}) {
		t.Errorf("ran %q: StopRetries -1 means one stop run", got)
	}
	if !strings.Contains(f.log.text(), "CRIT: Resource STOP failure. Reboot required!") {
		t.Errorf("log:\n%s", f.log.text())
	}
}

func TestRollbackStopFailureIsBoth(t *testing.T) {
	f := newFixture(t, "A", "B")
	f.set("A.failstop", "")
	f.set("B.failstart", "")
	r := f.runner()
	err := r.Start(context.Background(), f.group("A", "B"))
	if !errors.Is(err, ErrStartFailed) || !errors.Is(err, ErrStopFailed) {
		t.Fatalf("err = %v; want ErrStartFailed and ErrStopFailed", err)
	}
	if !strings.Contains(err.Error(), "rollback failed") {
		t.Errorf("error: %v", err)
	}
}

func TestTimeoutKillsProcessGroup(t *testing.T) {
	tests := []struct {
		name string
		body string
	}{
		{"dies on SIGTERM", `#!/bin/sh
sleep 300 &
echo $! > "$CTL/grandchild"
wait
`},
		{"ignores SIGTERM", `#!/bin/sh
trap '' TERM
sleep 300 &
echo $! > "$CTL/grandchild"
while :; do sleep 1; done
`},
		{"grandchild in a subshell", `#!/bin/sh
( sleep 300; echo never ) &
sleep 0.05
pgrep -P $! sleep > "$CTL/grandchild" || echo $! > "$CTL/grandchild"
sleep 300
`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			f.script("hang", tc.body)
			f.opts.Timeout = 300 * time.Millisecond
			r := f.runner()
			g := f.group("hang")
			start := time.Now()
			res := r.RunResource(context.Background(), g.Resources[0], OpStart, 0)
			took := time.Since(start)
			gc := readPID(t, filepath.Join(f.ctl, "grandchild"))
			t.Cleanup(func() { killIfAlive(gc) })
			if !res.TimedOut || res.OK() || res.ExitCode != -1 {
				t.Errorf("result %+v: want a timeout", res)
			}
			if res.Duration < 300*time.Millisecond || res.Duration > took {
				t.Errorf("Result.Duration %v; the run took %v", res.Duration, took)
			}
			if took < 300*time.Millisecond || took > 3*time.Second {
				t.Errorf("took %v; want the 300ms timeout plus the 200ms grace at most, roughly", took)
			}
			if alive(res.PID) {
				t.Errorf("script %d still alive", res.PID)
			}
			if alive(gc) {
				t.Errorf("grandchild %d survived the timeout", gc)
			}
		})
	}
}

func TestCancelKillsAndRollsBack(t *testing.T) {
	f := newFixture(t, "A", "B")
	f.set("B.slowstart", "30")
	r := f.runner()
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(300*time.Millisecond, cancel)
	start := time.Now()
	err := r.Start(ctx, f.group("A", "B"))
	if time.Since(start) > 3*time.Second {
		t.Errorf("Start took %v after cancel", time.Since(start))
	}
	if !errors.Is(err, ErrStartFailed) || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v; want ErrStartFailed wrapping context.Canceled", err)
	}
	want := []string{"A start", "B start", "B stop", "A stop"}
	if got := f.ops(false); !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
}

func TestScriptOutputIsLogged(t *testing.T) {
	f := newFixture(t)
	f.script("chatty", `#!/bin/sh
echo "hello from stdout"
echo "warning on stderr" >&2
printf 'no newline at the end'
`)
	r := f.runner()
	res := r.RunResource(context.Background(), f.group("chatty").Resources[0], OpStart, 0)
	if !res.OK() {
		t.Fatalf("%+v", res)
	}
	for _, w := range []string{"hello from stdout", "warning on stderr", "no newline at the end"} {
		e, ok := f.log.find(w)
		if !ok {
			t.Errorf("no log line %q:\n%s", w, f.log.text())
			continue
		}
		if e.level != logrus.DebugLevel || e.tag != "chatty" || e.pid != res.PID {
			t.Errorf("line %q logged at %v as %s[%d]; want debug as chatty[%d]", w, e.level, e.tag, e.pid, res.PID)
		}
		if !strings.Contains(res.Output, w) {
			t.Errorf("Output lacks %q: %q", w, res.Output)
		}
	}
	if strings.Contains(res.Stdout, "warning on stderr") || !strings.Contains(res.Stdout, "hello from stdout") {
		t.Errorf("Stdout = %q", res.Stdout)
	}
	// stdout and stderr are read by two goroutines, so the stderr line may
	// land anywhere among the stdout ones: the last two lines are two
	// different lines of the three, and stdout's keep their order.
	got := res.LastLines(2)
	all := map[string]bool{"hello from stdout": true, "warning on stderr": true, "no newline at the end": true}
	if len(got) != 2 || got[0] == got[1] || !all[got[0]] || !all[got[1]] ||
		(got[0] == "no newline at the end" && got[1] == "hello from stdout") {
		t.Errorf("LastLines(2) = %q", got)
	}
}

func TestOutputIsBounded(t *testing.T) {
	f := newFixture(t)
	f.script("flood", `#!/bin/sh
i=0
while [ $i -lt 3000 ]; do echo "line $i of the flood, padded to make it longer"; i=$((i+1)); done
echo LAST
`)
	f.opts.OutputLimit = 4096
	r := f.runner()
	res := r.RunResource(context.Background(), f.group("flood").Resources[0], OpStart, 0)
	if !res.OK() || !res.Truncated || len(res.Output) > 4096 || !strings.HasSuffix(res.Output, "LAST\n") {
		t.Fatalf("ok %v truncated %v len %d tail %q", res.OK(), res.Truncated, len(res.Output), res.Output[max(0, len(res.Output)-40):])
	}
}

func TestDaemonHoldingOutputDoesNotBlock(t *testing.T) {
	f := newFixture(t)
	f.script("spawner", `#!/bin/sh
sleep 30 &
echo $! > "$CTL/daemon"
echo started
`)
	r := f.runner()
	start := time.Now()
	res := r.RunResource(context.Background(), f.group("spawner").Resources[0], OpStart, 0)
	pid := readPID(t, filepath.Join(f.ctl, "daemon"))
	t.Cleanup(func() { killIfAlive(pid) })
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("took %v: waited for the daemon's copy of stdout", took)
	}
	if !res.OK() || !strings.Contains(res.Output, "started") {
		t.Errorf("%+v", res)
	}
	if !alive(pid) {
		t.Errorf("the daemon a start script left behind was killed")
	}
}

func TestArgumentsAndEnvironment(t *testing.T) {
	f := newFixture(t)
	f.script("envdump", `#!/bin/sh
printf '%s\n' "$@" > "$CTL/args"
env > "$CTL/env"
`)
	t.Setenv("LC_ALL", "fr_FR.UTF-8")
	r := f.runner()
	res := r.RunResource(context.Background(), f.group("envdump::10.0.0.1/24/eth0::with space::x").Resources[0], OpStart, 0)
	if !res.OK() {
		t.Fatalf("%+v", res)
	}
	args, _ := os.ReadFile(filepath.Join(f.ctl, "args"))
	if got, want := string(args), "10.0.0.1/24/eth0\nwith space\nx\nstart\n"; got != want {
		t.Errorf("args %q, want %q", got, want)
	}
	env := readEnv(t, filepath.Join(f.ctl, "env"))
	for k, v := range map[string]string{
		"HA_DIR":         f.dir,
		"HA_CF":          filepath.Join(f.dir, "ha.cf"),
		"HA_FUNCS":       filepath.Join(f.dir, "shellfuncs"),
		"HA_RCDIR":       filepath.Join(f.dir, "rc.d"),
		"HA_RESOURCEDIR": filepath.Join(f.dir, "resource.d"),
		"HA_CURHOST":     "node1",
		"HA_RSCTMP":      f.opts.RscTmp,
		"HA_VARLIB":      f.opts.StateDir,
		"HA_FIFO":        filepath.Join(f.opts.StateDir, "fifo"),
		"HA_LOGFILE":     f.opts.Logfile,
		"HA_DEBUGLOG":    f.opts.Debugfile,
		"HA_LOGD":        "no",
		"HA_debug":       "0",
		"HA_DATEFMT":     "%Y/%m/%d_%T ",
		"REC":            f.rec,
	} {
		if env[k] != v {
			t.Errorf("%s=%q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["LC_ALL"]; ok {
		t.Errorf("LC_ALL passed to the script")
	}
	if _, ok := env["HA_LOGFACILITY"]; ok {
		t.Errorf("HA_LOGFACILITY set though no facility is")
	}
	if env["PATH"] == "" {
		t.Errorf("no PATH")
	}
}

// TestFencingTokenEnvironment: a script run under WithFencingToken gets
// HA_FENCING_TOKEN; one run without it does not.
func TestFencingTokenEnvironment(t *testing.T) {
	f := newFixture(t)
	f.script("envdump", "#!/bin/sh\nenv > \"$CTL/env\"\n")
	r := f.runner()
	res := f.group("envdump").Resources[0]
	for _, tt := range []struct {
		ctx  context.Context
		want string
	}{
		{WithFencingToken(context.Background(), 4711), "4711"},
		{context.Background(), ""},
	} {
		if out := r.RunResource(tt.ctx, res, OpStart, 0); !out.OK() {
			t.Fatalf("%+v", out)
		}
		env := readEnv(t, filepath.Join(f.ctl, "env"))
		if got, ok := env[FencingTokenVar]; got != tt.want || ok != (tt.want != "") {
			t.Errorf("HA_FENCING_TOKEN=%q (set: %v), want %q", got, ok, tt.want)
		}
	}
}

func readEnv(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			env[k] = v
		}
	}
	return env
}

func TestGroupStatus(t *testing.T) {
	f := newFixture(t, "A", "B")
	r := f.runner()
	g := f.group("A", "B")
	for _, tc := range []struct {
		on   []string
		want GroupState
	}{
		{nil, GroupNone},
		{[]string{"B"}, GroupSome},
		{[]string{"A", "B"}, GroupAll},
	} {
		for _, n := range []string{"A", "B"} {
			os.Remove(filepath.Join(f.ctl, n+".on"))
		}
		for _, n := range tc.on {
			f.set(n+".on", "")
		}
		gs, err := r.Status(context.Background(), g)
		if err != nil {
			t.Fatal(err)
		}
		if gs.State != tc.want || gs.Key != "A" || len(gs.Resources) != 2 {
			t.Errorf("on %v: %+v, want %v", tc.on, gs, tc.want)
		}
		for _, rs := range gs.Resources {
			wantOn := strings.Contains(strings.Join(tc.on, " "), rs.Resource)
			if rs.Running != wantOn {
				t.Errorf("on %v: %s running=%v (%s)", tc.on, rs.Resource, rs.Running, rs.Reason)
			}
		}
	}
	f.script("B", "#!/bin/sh\nsleep 5\n")
	f.opts.Timeout = 200 * time.Millisecond
	r = f.runner()
	gs, err := r.Status(context.Background(), g)
	if err == nil || gs.Resources[1].Running || !gs.Resources[1].Result.TimedOut {
		t.Errorf("status timeout: %+v, %v", gs, err)
	}
}

func TestMissingScript(t *testing.T) {
	f := newFixture(t, "A")
	r := f.runner()
	g := f.group("A", "nosuch::arg")
	g.Resources[1].Script = config.Script{} // resolved at run time: not found
	err := r.Start(context.Background(), g)
	var se *StartError
	if !errors.As(err, &se) || se.Resource != "nosuch::arg" {
		t.Fatalf("err = %v", err)
	}
	if !strings.Contains(f.log.text(), "ERROR: Cannot locate resource script nosuch") {
		t.Errorf("log:\n%s", f.log.text())
	}
	if f.exists("A.on") {
		t.Errorf("A not rolled back")
	}
}

func TestBuiltinWithoutCommand(t *testing.T) {
	f := newFixture(t)
	r := f.runner()
	res := r.RunResource(context.Background(), resourceOf("IPaddr2::10.0.0.1", config.Script{Kind: config.ScriptBuiltin, Name: "IPaddr2"}), OpStart, 0)
	if res.Err == nil || !strings.Contains(res.Err.Error(), "built-in agent IPaddr2") {
		t.Errorf("%+v", res)
	}
	f.opts.BuiltinCommand = []string{"/bin/sh", "-c", `echo "$@" > "$CTL/builtin"`, "hbd", "agent"}
	r = f.runner()
	res = r.RunResource(context.Background(), resourceOf("IPaddr2::10.0.0.1", config.Script{Kind: config.ScriptBuiltin, Name: "IPaddr2"}), OpStart, 0)
	b, _ := os.ReadFile(filepath.Join(f.ctl, "builtin"))
	if !res.OK() || strings.TrimSpace(string(b)) != "agent IPaddr2 10.0.0.1 start" {
		t.Errorf("%+v, ran %q", res, b)
	}
}

func TestSameGroupSerialized(t *testing.T) {
	f := newFixture(t, "A")
	f.set("A.slowstart", "0.3")
	r := f.runner()
	g := f.group("A")
	done := make(chan error, 1)
	go func() { done <- r.Start(context.Background(), g) }()
	time.Sleep(50 * time.Millisecond)
	if err := r.Stop(context.Background(), g); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	want := []string{"A start", "A stop"}
	if got := f.ops(false); !slices.Equal(got, want) {
		t.Errorf("ran %q, want %q", got, want)
	}
	if f.exists("A.on") {
		t.Errorf("A runs after start then stop")
	}
	// A busy group's lock gives up with ctx.
	f.set("A.slowstart", "0.5")
	go func() { done <- r.Start(context.Background(), g) }()
	time.Sleep(50 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := r.Stop(ctx, g); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Stop on a busy group: %v", err)
	}
	<-done
}

// TestUntrustedScriptNotRun: a resource script someone other than root
// could have changed since the configuration was loaded is not run.
func TestUntrustedScriptNotRun(t *testing.T) {
	f := newFixture(t)
	p := f.script("web", "#!/bin/sh\ntouch \"$CTL/ran\"\n")
	if err := os.Chmod(p, 0o777); err != nil {
		t.Fatal(err)
	}
	r := f.runner()
	for _, op := range []string{OpStart, OpStatus} {
		res := r.RunResource(context.Background(), f.group("web").Resources[0], op, 0)
		if res.OK() || res.Err == nil || !strings.Contains(res.Err.Error(), "chmod go-w "+p) {
			t.Errorf("%s: result %+v, want an error with the fix", op, res)
		}
	}
	if f.exists("ran") {
		t.Error("the script ran")
	}
}
