package initfiles_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// hbdBin is the hbd binary under test, built once by TestMain into a
// directory everyone may read (the non-root test runs it as nobody).
var hbdBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hbd-init-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := func() int {
		defer os.RemoveAll(dir)
		if err := os.Chmod(dir, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		hbdBin = filepath.Join(dir, "hbd")
		out, err := exec.Command("go", "build", "-o", hbdBin, "github.com/hbdproject/hbd/hbd").CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build hbd: %v\n%s", err, out)
			return 1
		}
		return m.Run()
	}()
	os.Exit(code)
}

// repoRoot is the top of the source tree (this package is init/).
func repoRoot(t *testing.T) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("cannot find the test's source file")
	}
	return filepath.Dir(filepath.Dir(file))
}

// need skips the test (fails it in CI) when a command is missing.
func need(t *testing.T, cmds ...string) {
	t.Helper()
	testenv.NeedCommands(t, cmds...)
}

// needRoot skips the test (fails it in CI) when not root.
func needRoot(t *testing.T) {
	t.Helper()
	testenv.NeedRoot(t, "private mount namespaces, service files")
}

// result is one finished command.
type result struct {
	code int
	out  string // stdout and stderr together
}

// run runs name args with env added to ours and a time bound.
func run(t *testing.T, env []string, timeout time.Duration, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	var buf bytes.Buffer
	cmd.Stdout = &buf
	cmd.Stderr = &buf
	// A group of its own: a command that overstays is killed with what it
	// started (start-stop-daemon --retry TERM/600 waiting for an hbd),
	// which would otherwise outlive the test for minutes.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
	case <-time.After(timeout):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		t.Fatalf("%s %s: still running after %s; output:\n%s", name, strings.Join(args, " "), timeout, buf.String())
	}
	return result{code: cmd.ProcessState.ExitCode(), out: buf.String()}
}

// node is a one-node configuration on loopback with a resource group of
// one test resource, `slow`, whose stop takes stopDelay: it records its
// starts and stops in DIR/slow.log.
type node struct {
	dir, conf, run, state string
}

func newNode(t *testing.T, stopDelay time.Duration) node {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	n := node{dir: dir, conf: filepath.Join(dir, "ha.d"), run: filepath.Join(dir, "run"), state: filepath.Join(dir, "state")}
	for _, d := range []string{filepath.Join(n.conf, "resource.d"), n.state} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	hacf := fmt.Sprintf(`logfile %s
debugfile %s
logfacility none
keepalive 200ms
warntime 600ms
deadtime 1
initdead 2
udpport %d
ucast lo 127.0.0.1 127.0.0.1
node n1
auto_failback on
`, n.path("ha-log"), n.path("ha-debug"), testenv.FreeUDPPort(t))
	slow := fmt.Sprintf(`#!/bin/sh
case "$1" in
start) touch %[1]s/slow.on; echo start >> %[1]s/slow.log ;;
stop) sleep %[2]s; rm -f %[1]s/slow.on; echo stop >> %[1]s/slow.log ;;
status) if [ -e %[1]s/slow.on ]; then echo running; else echo stopped; fi ;;
esac
`, dir, fmt.Sprintf("%.1f", stopDelay.Seconds()))
	n.write(t, "ha.d/ha.cf", hacf, 0o644)
	n.write(t, "ha.d/authkeys", "auth 1\n1 sha1 init-test-secret\n", 0o600)
	n.write(t, "ha.d/haresources", "n1 slow\n", 0o644)
	n.write(t, "ha.d/resource.d/slow", slow, 0o755)
	return n
}

func (n node) path(p string) string { return filepath.Join(n.dir, p) }

func (n node) write(t *testing.T, p, content string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(n.path(p), []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(n.path(p), mode); err != nil {
		t.Fatal(err)
	}
}

func (n node) read(p string) string {
	b, _ := os.ReadFile(n.path(p))
	return string(b)
}

// waitFor polls cond every 50 ms until it holds or d passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// killFromPidFile ends a daemon a failed test left behind (by its pid).
func killFromPidFile(pidFile string) {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return
	}
	var pid int
	if _, err := fmt.Sscanf(string(b), "%d", &pid); err != nil || pid <= 1 {
		return
	}
	// Only our own hbd: the pid may have been reused since. The same file,
	// not the same name: /proc shows the path with TMPDIR's symbolic links
	// resolved.
	exe, err := os.Stat(fmt.Sprintf("/proc/%d/exe", pid))
	bin, berr := os.Stat(hbdBin)
	if err == nil && berr == nil && os.SameFile(exe, bin) {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Kill()
		}
	}
}
