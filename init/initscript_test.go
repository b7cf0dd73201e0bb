package initfiles_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// initScript runs init/heartbeat ACTION for node n, through a defaults
// file (HBD_DEFAULT_FILE) that points it at n's directories and hbdBin.
func initScript(t *testing.T, n node, action string) result {
	t.Helper()
	return run(t, []string{"HBD_DEFAULT_FILE=" + n.path("default")}, 60*time.Second,
		filepath.Join(repoRoot(t), "init", "heartbeat"), action)
}

func writeDefaults(t *testing.T, n node, stopTimeout int) {
	t.Helper()
	n.write(t, "default", fmt.Sprintf(`HBD_BIN=%s
HBD_CONFIG_DIR=%s
HBD_NODE=n1
HBD_RUN_DIR=%s
HBD_STATE_DIR=%s
HBD_OUTPUT=%s
HBD_STOP_TIMEOUT=%d
`, hbdBin, n.conf, n.run, n.state, n.path("hbd.out"), stopTimeout), 0o644)
}

// TestInitScript drives the SysV script as an operator would: start,
// status, reload, a second start, stop (which waits for the resource's
// slow stop), status again, then the failure cases.
func TestInitScript(t *testing.T) {
	need(t, "start-stop-daemon")
	n := newNode(t, 2*time.Second)
	writeDefaults(t, n, 60)
	pidFile := filepath.Join(n.run, "heartbeat.pid")
	t.Cleanup(func() { killFromPidFile(pidFile) })

	if r := initScript(t, n, "status"); r.code != 3 {
		t.Fatalf("status before start: exit %d, want 3 (not running)\n%s", r.code, r.out)
	}
	if r := initScript(t, n, "stop"); r.code != 0 {
		t.Fatalf("stop when not running: exit %d, want 0\n%s", r.code, r.out)
	}
	if r := initScript(t, n, "reload"); r.code != 7 {
		t.Fatalf("reload when not running: exit %d, want 7\n%s", r.code, r.out)
	}

	r := initScript(t, n, "start")
	if r.code != 0 {
		t.Fatalf("start: exit %d\n%s\nhbd.out:\n%s", r.code, r.out, n.read("hbd.out"))
	}
	pid := strings.TrimSpace(readFile(t, pidFile))
	waitFor(t, 20*time.Second, "the resource group to start", func() bool { return strings.Contains(n.read("slow.log"), "start") })

	r = initScript(t, n, "status")
	if r.code != 0 || !strings.Contains(r.out, "n1 (this node)") {
		t.Fatalf("status while running: exit %d, want 0 and hbd status output\n%s", r.code, r.out)
	}

	r = initScript(t, n, "start")
	if r.code != 0 {
		t.Fatalf("second start: exit %d, want 0 (already running)\n%s", r.code, r.out)
	}
	if got := strings.TrimSpace(readFile(t, pidFile)); got != pid {
		t.Fatalf("second start replaced the daemon: pid %s, then %s", pid, got)
	}

	r = initScript(t, n, "reload")
	if r.code != 0 {
		t.Fatalf("reload: exit %d\n%s", r.code, r.out)
	}
	waitFor(t, 10*time.Second, "the daemon to log the SIGHUP reload", func() bool {
		return strings.Contains(n.read("ha-debug"), "Configuration reload (SIGHUP)")
	})

	// An invalid edit: reload refuses it, names the line, and hbd keeps
	// running with the configuration it has.
	good := n.read("ha.d/ha.cf")
	n.write(t, "ha.d/ha.cf", good+"deadtime 0\n", 0o644)
	r = initScript(t, n, "reload")
	if r.code != 1 || !strings.Contains(r.out, "ha.cf:12") {
		t.Fatalf("reload of an invalid ha.cf: exit %d, want 1 and ha.cf:12 in the output\n%s", r.code, r.out)
	}
	n.write(t, "ha.d/ha.cf", good, 0o644)
	if r := initScript(t, n, "status"); r.code != 0 {
		t.Fatalf("status after a refused reload: exit %d\n%s", r.code, r.out)
	}

	start := time.Now()
	r = initScript(t, n, "stop")
	took := time.Since(start)
	if r.code != 0 {
		t.Fatalf("stop: exit %d\n%s", r.code, r.out)
	}
	// The stop returned only after the resource's 2 s stop had finished.
	if log := n.read("slow.log"); !strings.HasSuffix(log, "stop\n") {
		t.Fatalf("stop returned before the resource was stopped (after %s); slow.log:\n%s", took, log)
	}
	if took < 2*time.Second {
		t.Fatalf("stop took %s, less than the resource's stop", took)
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%s", pid)); err == nil {
		t.Fatalf("hbd (pid %s) still runs after stop", pid)
	}
	if !strings.Contains(n.read("ha-log"), "shutdown complete") {
		t.Fatalf("no graceful shutdown in the log:\n%s", n.read("ha-log"))
	}
	if r := initScript(t, n, "status"); r.code != 3 {
		t.Fatalf("status after stop: exit %d, want 3\n%s", r.code, r.out)
	}

	// A stale pid file: LSB status 1 (dead, pid file exists).
	if err := os.MkdirAll(n.run, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pidFile, []byte(pid+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := initScript(t, n, "status"); r.code != 1 {
		t.Fatalf("status with a stale pid file: exit %d, want 1\n%s", r.code, r.out)
	}
	os.Remove(pidFile)

	// A configuration error: start refuses with LSB 6 and FILE:LINE.
	n.write(t, "ha.d/ha.cf", good+"keepalive 0\n", 0o644)
	r = initScript(t, n, "start")
	if r.code != 6 || !strings.Contains(r.out, "ha.cf:12") {
		t.Fatalf("start with a broken ha.cf: exit %d, want 6 and ha.cf:12\n%s", r.code, r.out)
	}
	if r := initScript(t, n, "status"); r.code != 3 {
		t.Fatalf("status after a refused start: exit %d, want 3\n%s", r.code, r.out)
	}

	if r := initScript(t, n, "bogus"); r.code == 0 || !strings.Contains(r.out, "Usage:") {
		t.Fatalf("unknown action: exit %d\n%s", r.code, r.out)
	}
}

// TestInitScriptStopNeverKills: when hbd takes longer than
// HBD_STOP_TIMEOUT to release its resources, stop fails and hbd goes on
// (and finishes its release) instead of being killed halfway.
func TestInitScriptStopNeverKills(t *testing.T) {
	need(t, "start-stop-daemon")
	n := newNode(t, 4*time.Second)
	writeDefaults(t, n, 1)
	pidFile := filepath.Join(n.run, "heartbeat.pid")
	t.Cleanup(func() { killFromPidFile(pidFile) })

	if r := initScript(t, n, "start"); r.code != 0 {
		t.Fatalf("start: exit %d\n%s", r.code, r.out)
	}
	pid := strings.TrimSpace(readFile(t, pidFile))
	waitFor(t, 20*time.Second, "the resource group to start", func() bool { return strings.Contains(n.read("slow.log"), "start") })
	r := initScript(t, n, "stop")
	if r.code != 1 || !strings.Contains(r.out, "not killed") {
		t.Fatalf("stop with a 1 s timeout and a 4 s resource stop: exit %d, want 1 and 'not killed'\n%s", r.code, r.out)
	}
	if _, err := os.Stat("/proc/" + pid); err != nil {
		t.Fatalf("hbd (pid %s) is gone right after a timed-out stop: it must be left running", pid)
	}
	// It finishes the release on its own and exits.
	waitFor(t, 20*time.Second, "hbd to finish releasing and exit", func() bool {
		_, err := os.Stat("/proc/" + pid)
		return err != nil
	})
	if log := n.read("slow.log"); !strings.HasSuffix(log, "stop\n") {
		t.Fatalf("the resource was not stopped to the end; slow.log:\n%s", log)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
