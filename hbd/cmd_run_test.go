package main

import (
	"bytes"
	"maps"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/ctl"
	"github.com/hbdproject/hbd/hbd/daemon"
	"github.com/hbdproject/hbd/hbd/testenv"
	"golang.org/x/sys/unix"
)

// soloFiles is a one-node cluster on loopback with no resource groups,
// which draws a warning.
var soloFiles = map[string]string{
	"ha.cf":       "node solo\nkeepalive 1\ndeadtime 10\nucast lo 127.0.0.1\nauto_failback on\nlogfacility none\n",
	"authkeys":    "auth 1\n1 sha1 a-secret-long-enough-0123\n",
	"haresources": "",
}

// TestRunSaysEachWarningOnce: a start refused for an error in the
// configuration lists each warning with the errors, once; hbd check
// says the same warning, once, and finds the configuration usable
// without the error.
func TestRunSaysEachWarningOnce(t *testing.T) {
	const warning = "no resource groups"
	files := maps.Clone(soloFiles)
	dir := testenv.WriteConfigDir(t, files)
	var out, errOut bytes.Buffer
	if rc := runCheck([]string{"-c", dir, "--node", "solo"}, &out, &errOut); rc != 0 || strings.Count(errOut.String(), warning) != 1 {
		t.Errorf("check: exit %d, want 0 and %q once on stderr:\n%s", rc, warning, errOut.String())
	}

	files["ha.cf"] += "no_such_directive 1\n"
	dir = testenv.WriteConfigDir(t, files)
	out.Reset()
	errOut.Reset()
	rc := runRun([]string{"-c", dir, "--node", "solo", "--run-dir", t.TempDir(), "--state-dir", t.TempDir()}, &out, &errOut)
	e := errOut.String()
	if rc != exitNotConfigured || !strings.Contains(e, `unknown directive "no_such_directive"`) {
		t.Fatalf("run: exit %d, want %d naming the unknown directive; stderr:\n%s", rc, exitNotConfigured, e)
	}
	if n := strings.Count(e, warning); n != 1 {
		t.Errorf("run: stderr says %q %d times, want once:\n%s", warning, n, e)
	}
}

// TestRunRefusedBesideRunning: `hbd run` beside an hbd that holds the
// state directory's lock exits with exitAlreadyRunning (which the
// systemd unit does not retry), names the other's pid, says what to do,
// and never tells the service manager it is ready.
func TestRunRefusedBesideRunning(t *testing.T) {
	dir := testenv.WriteConfigDir(t, soloFiles)
	runDir, stateDir := t.TempDir(), t.TempDir()
	// The lock as another hbd holds it: a file of its own, its pid in it
	// (ours: a process that runs and has our name).
	f, err := os.OpenFile(filepath.Join(stateDir, daemon.StateLockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	pid := strconv.Itoa(os.Getpid())
	if _, err := f.WriteString(pid + "\n"); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "notify")
	l, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	t.Setenv(notifySocketEnv, sock)
	var out, errOut bytes.Buffer
	rc := runRun([]string{"-c", dir, "--node", "solo", "--run-dir", runDir, "--state-dir", stateDir}, &out, &errOut)
	e := errOut.String()
	if rc != exitAlreadyRunning {
		t.Errorf("run beside a running hbd: exit %d, want %d; stderr:\n%s", rc, exitAlreadyRunning, e)
	}
	for _, want := range []string{"already running with pid " + pid, daemon.StateLockName, "not started", "kill -TERM " + pid} {
		if !strings.Contains(e, want) {
			t.Errorf("stderr lacks %q:\n%s", want, e)
		}
	}
	if _, err := os.Stat(filepath.Join(runDir, ctl.SocketName)); err == nil {
		t.Errorf("a refused start opened the control socket")
	}
	_ = l.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	b := make([]byte, 64)
	if n, _ := l.Read(b); n > 0 {
		t.Errorf("a refused start told the service manager %q", b[:n])
	}
}
