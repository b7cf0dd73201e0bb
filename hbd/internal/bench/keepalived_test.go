//go:build linux

package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// A notify script at work is waited for, and only until it ends.
func TestWaitGone(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "notify")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nwhile [ ! -e \"$1\" ]; do sleep 0.01; done\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := waitGone(script, time.Second); err != nil {
		t.Fatalf("nothing runs: %v", err)
	}
	goFile := filepath.Join(dir, "go")
	cmd := exec.Command(script, goFile)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	if err := waitGone(script, 20*time.Millisecond); err == nil || !strings.Contains(err.Error(), "still runs") {
		t.Errorf("a script at work, a short wait: %v, want it still running", err)
	}
	if err := waitGone(other, 20*time.Millisecond); err != nil {
		t.Errorf("another script's wait: %v", err)
	}
	if err := os.WriteFile(goFile, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := waitGone(script, 10*time.Second); err != nil {
		t.Errorf("a script that ends: %v", err)
	}
	<-done
}
