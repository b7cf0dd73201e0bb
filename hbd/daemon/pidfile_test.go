package daemon

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestPidFile(t *testing.T) {
	dir := t.TempDir()
	path, err := writePidFile(dir)
	if err != nil {
		t.Fatal(err)
	}
	if pid, err := ReadPid(dir); err != nil || pid != os.Getpid() {
		t.Fatalf("ReadPid = %d, %v", pid, err)
	}

	// A live other process owns the file: refuse.
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	if err := os.WriteFile(path, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := writePidFile(dir); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("writePidFile over a live pid: %v", err)
	}

	// The process is gone: the stale file is taken over.
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := writePidFile(dir); err != nil {
		t.Fatalf("writePidFile over a stale pid: %v", err)
	}
	if _, err := ReadPid(filepath.Join(dir, "nope")); err == nil {
		t.Fatal("ReadPid of a missing file: want error")
	}
}
