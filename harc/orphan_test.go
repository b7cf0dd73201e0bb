//go:build linux

package harc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// orphanHelperEnv makes the test binary a runner that runs the script it
// names and is killed while the script runs (TestScriptDiesWithItsRunner).
const orphanHelperEnv = "HARC_TEST_ORPHAN_SCRIPT"

func TestMain(m *testing.M) {
	if script := os.Getenv(orphanHelperEnv); script != "" {
		Command{Path: script, Timeout: time.Minute}.Run(context.Background())
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestScriptDiesWithItsRunner: a script outlives no runner killed with
// SIGKILL (a daemon's crash): a start still running would otherwise
// bring its resource up after the restarted daemon looked, found it
// stopped and let another node take it.
func TestScriptDiesWithItsRunner(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "slow")
	body := "#!/bin/sh\necho $$ > " + dir + "/pid\nsleep 3\ntouch " + dir + "/done\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	runner := exec.Command(self, "-test.run=^$")
	runner.Env = append(os.Environ(), orphanHelperEnv+"="+script)
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	deadline := time.Now().Add(10 * time.Second)
	for pid == 0 {
		if time.Now().After(deadline) {
			_ = runner.Process.Kill()
			_ = runner.Wait()
			t.Fatal("the script did not start within 10s")
		}
		if b, err := os.ReadFile(filepath.Join(dir, "pid")); err == nil && strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := runner.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = runner.Wait()
	alive := func() bool {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		// A zombie (not yet reaped by whoever inherited it) is dead.
		f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+1:]))
		return len(f) > 0 && f[0] != "Z" && f[0] != "X"
	}
	for deadline := time.Now().Add(2 * time.Second); alive() && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if alive() {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		t.Fatalf("the script (pid %d) still runs 2s after its runner was killed", pid)
	}
	time.Sleep(3500 * time.Millisecond) // what was left of the script's sleep
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		t.Error("the script went on to its end after its runner was killed")
	}
}
