package daemon

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/hbdproject/hbd/harc"
	"github.com/hbdproject/hbd/hbd/logging"
)

// A daemon's start kills what a dead daemon's resource scripts left
// running (their records in the run directory), says so, and keeps
// recording; a records directory it may not use refuses the start as a
// file a retry would meet again.
func TestStartKillsLeftoverScripts(t *testing.T) {
	lg, buf := testLogger()
	run := t.TempDir()
	dead, err := harc.OpenRecords(filepath.Join(run, ScriptsDirName), lg)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("/bin/sh", "-c", "exec sleep 30")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() { _ = syscall.Kill(-pid, syscall.SIGKILL); _ = cmd.Wait() })
	dead.Track(pid, harc.ScriptInfo{Group: "IPaddr::10.0.0.1", Resource: "httpd", Op: "start", Path: "/etc/ha.d/resource.d/httpd"})

	d := &Daemon{opts: Options{RunDir: run}, log: &logging.Logger{Logger: lg}}
	if err := d.killLeftovers(); err != nil {
		t.Fatal(err)
	}
	if d.records == nil {
		t.Fatal("no records kept for this run")
	}
	_ = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Errorf("the script ended with %v, want SIGKILL", cmd.ProcessState)
	}
	want := "level=warning msg=the start script of resource group \"IPaddr::10.0.0.1\""
	if !strings.Contains(buf.String(), want) || !strings.Contains(buf.String(), "["+strconv.Itoa(pid)+"]); the start was cut short") {
		t.Errorf("log:\n%s\nwant a line with %q", buf, want)
	}

	file := t.TempDir()
	if err := os.WriteFile(filepath.Join(file, ScriptsDirName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	d = &Daemon{opts: Options{RunDir: file}, log: &logging.Logger{Logger: lg}}
	var fe *FilesError
	if err := d.killLeftovers(); !errors.As(err, &fe) {
		t.Errorf("records directory a file: %v, want a FilesError", err)
	}
}
