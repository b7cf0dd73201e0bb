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
	if err := os.WriteFile(script, []byte("#!/bin/sh\nsleep \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := filepath.Join(dir, "other")
	if err := waitGone(script, time.Second); err != nil {
		t.Fatalf("nothing runs: %v", err)
	}
	cmd := exec.Command(script, "0.3")
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
	start := time.Now()
	if err := waitGone(script, 5*time.Second); err != nil {
		t.Errorf("a script that ends: %v", err)
	}
	if el := time.Since(start); el > 2*time.Second {
		t.Errorf("waited %s for a script of 0.3 s", el)
	}
	<-done
}
