//go:build linux

package bench

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestHbdBuild: the report says whether the measured hbd links the etcd
// client, from the program's build information.
func TestHbdBuild(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notGo := filepath.Join(dir, "script")
	if err := os.WriteFile(notGo, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tags string // "" builds without -tags; "-" is not a Go program
		want string
	}{
		{"no tags", "", "etcd client linked (built without -tags noetcd)"},
		{"noetcd", "noetcd", "-tags noetcd"},
		{"noetcd among others", "grpcnotrace,noetcd", "-tags noetcd"},
		{"other tags", "grpcnotrace", "etcd client linked (built without -tags noetcd)"},
		{"not a Go program", "-", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin := notGo
			if tt.tags != "-" {
				bin = filepath.Join(t.TempDir(), "prog")
				args := []string{"build", "-o", bin}
				if tt.tags != "" {
					args = append(args, "-tags", tt.tags)
				}
				if out, err := exec.Command("go", append(args, src)...).CombinedOutput(); err != nil {
					t.Fatalf("go build: %v\n%s", err, out)
				}
			}
			if got := hbdBuild(bin); got != tt.want {
				t.Errorf("hbdBuild = %q, want %q", got, tt.want)
			}
		})
	}
}
