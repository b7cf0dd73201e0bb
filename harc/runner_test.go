package harc

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/config"
)

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
			t.Parallel() // each waits for its timeout
			f := newFixture(t)
			f.script("hang", tc.body)
			f.opts.Timeout = hangTimeout
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
			if res.Duration < hangTimeout || res.Duration > took {
				t.Errorf("Result.Duration %v; the run took %v", res.Duration, took)
			}
			if took < hangTimeout || took > hangTimeout+3*time.Second {
				t.Errorf("took %v; want the %v timeout plus the 200ms grace at most, roughly", took, hangTimeout)
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

// TestDrainReadsWhatTheScriptWrote: a start script that leaves behind a
// process writing to its stdout (a line every 50 ms, so the pipe is never
// quiet) returns once what the script wrote is read, without waiting for
// that process; what the script wrote before it exited, more than a
// pipe's buffer, is all there.
func TestDrainReadsWhatTheScriptWrote(t *testing.T) {
	f := newFixture(t)
	f.script("chatty", `#!/bin/sh
(while :; do echo daemon; sleep 0.05; done) &
echo $! > "$CTL/daemon"
i=0
while [ $i -lt 3000 ]; do echo "line $i of the script's own output"; i=$((i+1)); done
echo LAST
`)
	f.opts.OutputLimit = 1 << 20
	r := f.runner()
	res := r.RunResource(context.Background(), f.group("chatty").Resources[0], OpStart, 0)
	pid := readPID(t, filepath.Join(f.ctl, "daemon"))
	t.Cleanup(func() { killIfAlive(pid) })
	if !res.OK() {
		t.Fatalf("%+v", res)
	}
	if res.Duration >= DrainMax {
		t.Errorf("took %v: waited for the output of the process the script left behind", res.Duration)
	}
	for _, w := range []string{"line 0 of", "line 2999 of", "LAST\n"} {
		if !strings.Contains(res.Stdout, w) {
			t.Errorf("stdout lacks %q (%d bytes, ends %q)", w, len(res.Stdout), res.Stdout[max(0, len(res.Stdout)-60):])
		}
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
