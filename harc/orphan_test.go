//go:build linux

package harc

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// orphanHelperEnv makes the test binary a runner that runs the script it
// names and is killed while the script runs (TestScriptDiesWithItsRunner);
// with orphanRecordsEnv it records the script in the directory that
// names (TestRecordsOfAKilledRunner).
const (
	orphanHelperEnv  = "HARC_TEST_ORPHAN_SCRIPT"
	orphanRecordsEnv = "HARC_TEST_ORPHAN_RECORDS"
)

func TestMain(m *testing.M) {
	if script := os.Getenv(orphanHelperEnv); script != "" {
		os.Exit(runOrphanHelper(script, os.Getenv(orphanRecordsEnv)))
	}
	os.Exit(m.Run())
}

// runOrphanHelper runs script as a daemon does, while goroutines that
// lock their threads exit (the runtime ends those threads: a script
// forked from one with Pdeathsig would die with it).
func runOrphanHelper(script, records string) int {
	c := Command{Path: script, Timeout: time.Minute}
	if records != "" {
		rs, err := OpenRecords(records, nil)
		if err != nil {
			return 3
		}
		c.Track = func(pid int) func() { return rs.Track(pid, ScriptInfo{Group: "g", Resource: "r", Op: "start"}) }
	}
	go func() {
		for range 200 {
			done := make(chan struct{})
			go func() {
				runtime.LockOSThread() // never unlocked: the thread ends
				close(done)
			}()
			<-done
			time.Sleep(5 * time.Millisecond)
		}
	}()
	c.Run(context.Background())
	return 0
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

// TestRecordsOfAKilledRunner: what a script killed with its runner had
// started in its process group (its own SIGKILL does not end that) is
// killed by KillLeftovers from the script's record, as the next daemon
// does; the script's work is not done.
func TestRecordsOfAKilledRunner(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "slow")
	body := "#!/bin/sh\nsleep 30 &\n(sleep 2; touch " + dir + "/done) &\necho $$ > " + dir + "/pid\nwait\n"
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	records := filepath.Join(dir, "scripts")
	runner := exec.Command(self, "-test.run=^$")
	runner.Env = append(os.Environ(), orphanHelperEnv+"="+script, orphanRecordsEnv+"="+records)
	if err := runner.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = runner.Process.Kill(); _ = runner.Wait() }()
	pid := readPID(t, filepath.Join(dir, "pid"))
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL) })
	time.Sleep(500 * time.Millisecond) // the runner's threads come and go
	if !alive(pid) {
		t.Fatalf("the script (pid %d) died while its runner ran", pid)
	}
	if err := runner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = runner.Wait()
	for deadline := time.Now().Add(5 * time.Second); alive(pid); {
		if time.Now().After(deadline) {
			t.Fatalf("the script (pid %d) outlived its runner by 5 s", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
	rs, logged := testRecords(t)
	rs.dir = records
	l := sweepOne(t, rs, LeftoverKilled)
	if l.PGID != pid || len(l.Killed) < 2 {
		t.Fatalf("%+v, want the script's children killed", l)
	}
	if !strings.Contains(logged.String(), "killed process group "+strconv.Itoa(pid)+" (") || !strings.Contains(logged.String(), "the start was cut short") {
		t.Errorf("log:\n%s", logged)
	}
	if m := groupMembers(t, pid); len(m) != 0 {
		t.Errorf("group %d: %v", pid, m)
	}
	time.Sleep(2500 * time.Millisecond) // what was left of the child's sleep
	if _, err := os.Stat(filepath.Join(dir, "done")); err == nil {
		t.Error("the script's child went on to do its work")
	}
}
