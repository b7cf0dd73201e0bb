//go:build linux

package bench

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
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

// TestFalseDeaths: the count of a node's "returning after partition"
// lines, which the scenarios compare before and after the action.
func TestFalseDeaths(t *testing.T) {
	dir := t.TempDir()
	c := &hbdCluster{}
	for i := range 2 {
		c.dirs[i] = filepath.Join(dir, fmt.Sprint(i))
		if err := os.MkdirAll(filepath.Join(c.dirs[i], "log"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(i int, file string, lines ...string) {
		t.Helper()
		p := filepath.Join(c.dirs[i], "log", file)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n, ok := returns(c); !ok || n != 0 {
		t.Fatalf("returns with no logs = %d, %v; want 0, true", n, ok)
	}
	const back = "heartbeat[19903]: 2026/12/06_21:45:22 CRIT: Cluster node node1 returning after partition."
	write(1, "ha-debug",
		"heartbeat[19903]: 2026/12/06_21:45:22 WARN: node node1: is dead",
		back,
		"heartbeat[19903]: 2026/12/06_21:45:22 CRIT: Late heartbeat: Node node1: interval 80 ms (> deadtime)",
		back)
	write(1, "ha-log", back) // the same lines at a lower level: not added up
	write(0, "ha-log", "heartbeat[7616]: 2026/12/06_21:45:25 info: Received shutdown notice from 'node2'.")
	if n, ok := returns(c); !ok || n != 2 {
		t.Errorf("returns = %d, %v; want 2, true", n, ok)
	}
	if _, ok := returns(&kaCluster{}); ok {
		t.Error("keepalived's cluster says it can count false deaths")
	}
	if note := falseDeathNote(2); !strings.Contains(note, "2 time(s)") {
		t.Errorf("note %q does not say how many", note)
	}
}

// TestVersionTellsBuildsApart: two different hbd programs are told apart
// in the report's header, though both say "hbd dev".
func TestVersionTellsBuildsApart(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	for i, p := range []string{a, b} {
		s := fmt.Sprintf("#!/bin/sh\n# build %d\necho hbd dev\n", i)
		if err := os.WriteFile(p, []byte(s), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	va, vb := (&Hbd{Bin: a}).Version(), (&Hbd{Bin: b}).Version()
	if va == vb {
		t.Errorf("two different programs both reported as %q", va)
	}
	for _, v := range []string{va, vb} {
		if !strings.HasPrefix(v, "hbd dev, sha256 ") || len(v) != len("hbd dev, sha256 ")+12 {
			t.Errorf("version %q: want the program's words and the first 12 hex digits of its SHA-256", v)
		}
	}
}
