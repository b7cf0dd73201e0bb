package service_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/resources/service"
)

// fakeCommand is a stand-in for systemctl or service: it appends its
// arguments to $FAKE_CALLS, then answers from files in $FAKE_DIR: for
// `ARGS`, the file named after the verb (start, stop, is-active, status;
// the last word for service, the first for systemctl) holds
// "EXIT OUTPUT".
const fakeCommand = `#!/bin/sh
echo "$(basename "$0") $*" >>"$FAKE_CALLS"
case "$(basename "$0")" in
systemctl) verb=$1 ;;
*) verb=$2 ;;
esac
f="$FAKE_DIR/$verb"
[ -f "$f" ] || exit 0
read -r code out <"$f"
[ -n "$out" ] && echo "$out"
exit "$code"
`

type fake struct {
	dir, calls string
}

// newFake puts fake systemctl and service first on PATH.
func newFake(t *testing.T) *fake {
	t.Helper()
	bin := t.TempDir()
	for _, n := range []string{"systemctl", "service"} {
		if err := os.WriteFile(filepath.Join(bin, n), []byte(fakeCommand), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	f := &fake{dir: t.TempDir(), calls: filepath.Join(t.TempDir(), "calls")}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
	t.Setenv("FAKE_DIR", f.dir)
	t.Setenv("FAKE_CALLS", f.calls)
	return f
}

// answer makes the fake's verb exit with code after printing out.
func (f *fake) answer(t *testing.T, verb string, code int, out string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(f.dir, verb), []byte(strconv.Itoa(code)+" "+out+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// takeCalls returns the calls since the last takeCalls.
func (f *fake) takeCalls(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(f.calls)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	os.Remove(f.calls)
	if len(b) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

type outcome struct {
	code           int
	stdout, stderr string
}

func run(opts service.Options, args ...string) outcome {
	var out, errb bytes.Buffer
	code := service.Run(opts, args, &out, &errb)
	return outcome{code, out.String(), errb.String()}
}

func TestSystemd(t *testing.T) {
	f := newFake(t)
	opts := service.Options{SystemdDir: t.TempDir(), InitDir: t.TempDir()} // systemd "runs"
	for _, tc := range []struct {
		name      string
		setup     map[string]string // verb -> "CODE OUTPUT"
		op        string
		want      outcome // stderr: a substring
		wantCalls []string
	}{
		{"start", nil, "start", outcome{0, "", ""}, []string{"systemctl start peer"}},
		{"start fails", map[string]string{"start": "1 Job for peer.service failed because the control process exited with error code."},
			"start", outcome{1, "", "service peer: start failed: systemctl start peer: exit status 1: Job for peer.service failed"}, []string{"systemctl start peer"}},
		{"stop", nil, "stop", outcome{0, "", ""}, []string{"systemctl stop peer"}},
		{"status active", map[string]string{"is-active": "0 active"}, "status", outcome{0, "running\n", "active"}, []string{"systemctl is-active peer"}},
		{"monitor active", map[string]string{"is-active": "0 active"}, "monitor", outcome{0, "running\n", ""}, []string{"systemctl is-active peer"}},
		{"status inactive", map[string]string{"is-active": "3 inactive"}, "status", outcome{3, "stopped\n", "inactive"}, []string{"systemctl is-active peer"}},
		{"status failed", map[string]string{"is-active": "3 failed"}, "status", outcome{3, "stopped\n", ""}, []string{"systemctl is-active peer"}},
		{"status activating", map[string]string{"is-active": "3 activating"}, "status", outcome{3, "stopped\n", ""}, []string{"systemctl is-active peer"}},
		{"status deactivating", map[string]string{"is-active": "3 deactivating"}, "status", outcome{0, "running\n", ""}, []string{"systemctl is-active peer"}},
		{"status no bus", map[string]string{"is-active": "1 Failed to connect to bus: No such file or directory"}, "status",
			outcome{4, "", "service peer: status unknown: systemctl is-active peer: exit status 1: Failed to connect to bus"}, []string{"systemctl is-active peer"}},
		// A unit that is not loaded cannot be stopped, but it is stopped.
		{"stop not loaded", map[string]string{"stop": "5 Failed to stop peer.service: Unit peer.service not loaded.", "is-active": "3 inactive"},
			"stop", outcome{0, "", "its status says stopped"}, []string{"systemctl stop peer", "systemctl is-active peer"}},
		{"stop fails while active", map[string]string{"stop": "1 Job for peer.service canceled.", "is-active": "0 active"},
			"stop", outcome{1, "", "service peer: stop failed: systemctl stop peer: exit status 1: Job for peer.service canceled."}, []string{"systemctl stop peer", "systemctl is-active peer"}},
		{"unknown op", nil, "restart", outcome{3, "", `unknown operation "restart"`}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range []string{"start", "stop", "is-active"} {
				os.Remove(filepath.Join(f.dir, v))
			}
			for verb, a := range tc.setup {
				code, out, _ := strings.Cut(a, " ")
				n, _ := strconv.Atoi(code)
				f.answer(t, verb, n, out)
			}
			got := run(opts, "peer", tc.op)
			if got.code != tc.want.code || got.stdout != tc.want.stdout || !strings.Contains(got.stderr, tc.want.stderr) {
				t.Errorf("got exit %d stdout %q stderr %q; want %d %q, stderr containing %q", got.code, got.stdout, got.stderr, tc.want.code, tc.want.stdout, tc.want.stderr)
			}
			if calls := f.takeCalls(t); strings.Join(calls, "|") != strings.Join(tc.wantCalls, "|") {
				t.Errorf("calls %q, want %q", calls, tc.wantCalls)
			}
		})
	}
}

func TestServiceCommand(t *testing.T) {
	f := newFake(t)
	opts := service.Options{SystemdDir: filepath.Join(t.TempDir(), "absent")} // no systemd, default init dir
	f.answer(t, "status", 3, "peer is not running")
	if got := run(opts, "peer", "status"); got.code != 3 || got.stdout != "stopped\n" || !strings.Contains(got.stderr, "peer is not running") {
		t.Errorf("status: %+v", got)
	}
	f.answer(t, "status", 0, "peer is running")
	if got := run(opts, "peer", "status"); got.code != 0 || got.stdout != "running\n" {
		t.Errorf("status: %+v", got)
	}
	f.answer(t, "status", 4, "peer: unknown")
	if got := run(opts, "peer", "status"); got.code != 4 || got.stdout != "" || !strings.Contains(got.stderr, "service peer: status unknown: ") {
		t.Errorf("status: %+v", got)
	}
	if got := run(opts, "peer", "start"); got.code != 0 {
		t.Errorf("start: %+v", got)
	}
	f.answer(t, "stop", 1, "cannot stop peer")
	f.answer(t, "status", 0, "peer is running")
	if got := run(opts, "peer", "stop"); got.code != 1 || !strings.Contains(got.stderr, "service peer: stop failed: ") || !strings.Contains(got.stderr, "service peer stop: exit status 1: cannot stop peer") {
		t.Errorf("stop: %+v", got)
	}
	want := []string{"service peer status", "service peer status", "service peer status", "service peer start", "service peer stop", "service peer status"}
	if calls := f.takeCalls(t); strings.Join(calls, "|") != strings.Join(want, "|") {
		t.Errorf("calls %q, want %q", calls, want)
	}
}

// lsbScript is a real LSB init script: start runs a daemon (sleep) with
// a pid file, status checks that pid, stop kills it.
const lsbScript = `#!/bin/sh
PIDFILE="$(dirname "$0")/../run/peer.pid"
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
case "$1" in
start)
	running && exit 0
	sleep 300 </dev/null >/dev/null 2>&1 &
	echo $! >"$PIDFILE"
	echo "Starting peer: done" ;;
stop)
	if running; then kill "$(cat "$PIDFILE")"; fi
	rm -f "$PIDFILE"
	echo "Stopping peer: done" ;;
status)
	if running; then echo "peer is running"; exit 0; fi
	if [ -f "$PIDFILE" ]; then echo "peer is dead but its pid file exists"; exit 1; fi
	echo "peer is not running"; exit 3 ;;
*) echo "usage: $0 start|stop|status" >&2; exit 3 ;;
esac
`

func TestInitScript(t *testing.T) {
	base := t.TempDir()
	initDir := filepath.Join(base, "init.d")
	for _, d := range []string{initDir, filepath.Join(base, "run")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(initDir, "peer"), []byte(lsbScript), 0o755); err != nil {
		t.Fatal(err)
	}
	pidfile := filepath.Join(base, "run", "peer.pid")
	t.Cleanup(func() { // never leave the daemon behind
		if b, err := os.ReadFile(pidfile); err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && pid > 0 {
				syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})
	opts := service.Options{SystemdDir: filepath.Join(base, "no-systemd"), InitDir: initDir}

	status := func(want string) {
		t.Helper()
		got := run(opts, "peer", "status")
		wantCode := 0
		if want == "stopped" {
			wantCode = 3
		}
		if got.code != wantCode || got.stdout != want+"\n" {
			t.Fatalf("status: %+v, want %s", got, want)
		}
		// harc reads it the same way under both of its rules.
		r := harc.Result{ExitCode: got.code, Stdout: got.stdout, Output: got.stdout + got.stderr}
		for _, rule := range []harc.StatusRule{harc.StatusHeartbeat, harc.StatusLSB} {
			if running, why := harc.ReadStatus(rule, r); running != (want == "running") {
				t.Errorf("harc (%s rule) reads running=%v (%s), want %s", rule, running, why, want)
			}
		}
	}
	status("stopped")
	if got := run(opts, "peer", "start"); got.code != 0 || got.stdout != "" || !strings.Contains(got.stderr, "Starting peer: done") {
		t.Fatalf("start: %+v", got)
	}
	b, err := os.ReadFile(pidfile)
	if err != nil {
		t.Fatal(err)
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("the daemon (pid %d) does not run after start: %v", pid, err)
	}
	status("running")
	if got := run(opts, "peer", "stop"); got.code != 0 {
		t.Fatalf("stop: %+v", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for syscall.Kill(pid, 0) == nil { // a zombie until its parent (gone) is reaped by init
		if b, _ := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat")); strings.Contains(string(b), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the daemon (pid %d) still runs after stop", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	status("stopped")
	// Stopping a stopped service succeeds (LSB).
	if got := run(opts, "peer", "stop"); got.code != 0 {
		t.Errorf("second stop: %+v", got)
	}

	// Missing and non-executable scripts: errors that name the unit and the path.
	if got := run(opts, "nosuch", "start"); got.code != 1 || !strings.Contains(got.stderr, "service nosuch: systemd does not run here") ||
		!strings.Contains(got.stderr, filepath.Join(initDir, "nosuch")) {
		t.Errorf("missing script: %+v", got)
	}
	if err := os.WriteFile(filepath.Join(initDir, "plain"), []byte(lsbScript), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := run(opts, "plain", "status"); got.code != 4 || got.stdout != "" || !strings.Contains(got.stderr, "is not an executable file (chmod 755") {
		t.Errorf("non-executable script: %+v", got)
	}
}

func TestArguments(t *testing.T) {
	opts := service.Options{SystemdDir: filepath.Join(t.TempDir(), "absent"), InitDir: t.TempDir()}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{nil, 2, "usage"},
		{[]string{"start"}, 2, "usage"},
		{[]string{"a", "b", "start"}, 2, "usage"},
		{[]string{"--now", "start"}, 2, "starts with `-`"},
		{[]string{"../x", "start"}, 2, "contains a slash"},
		{[]string{"a b", "start"}, 2, "contains a slash, a space"},
		{[]string{"", "start"}, 2, "empty"},
	} {
		got := run(opts, tc.args...)
		if got.code != tc.code || got.stdout != "" || !strings.Contains(got.stderr, tc.want) {
			t.Errorf("Run(%q) = %+v; want exit %d, stderr containing %q", tc.args, got, tc.code, tc.want)
		}
	}
}
