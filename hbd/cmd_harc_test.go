package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// harcScript records "NAME ARGS" in $HA_DIR/record and keeps its state in
// $HA_DIR/NAME.on; NAME.fail makes start fail.
const harcScript = `#!/bin/sh
name=$(basename "$0")
for a; do op=$a; done
[ "$op" = status ] || echo "$name $*" >> "$HA_DIR/record"
case "$op" in
start) [ -e "$HA_DIR/$name.fail" ] && { echo "$name: cannot start"; exit 4; }; touch "$HA_DIR/$name.on";;
stop) rm -f "$HA_DIR/$name.on";;
status) [ -e "$HA_DIR/$name.on" ] && echo "$name is running" || echo "$name is not running";;
esac
`

// harcConfig writes a configuration with two groups:
//
//	node1 A::x::y B
//	node2 C
func harcConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		"ha.cf":       "keepalive 1\ndeadtime 5\nucast lo 127.0.0.2\nauto_failback on\nnode node1\nnode node2\n",
		"authkeys":    "auth 1\n1 sha1 harcTestSecret-0123456789\n",
		"haresources": "node1 A::x::y B\nnode2 C\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "resource.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"A", "B", "C"} {
		if err := os.WriteFile(filepath.Join(dir, "resource.d", n), []byte(harcScript), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func harcRun(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	rc := runHarc(args, &out, &errOut)
	return rc, out.String(), errOut.String()
}

func readRecord(t *testing.T, dir string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "record"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	os.Remove(filepath.Join(dir, "record"))
	return string(b)
}

func TestHarcCommands(t *testing.T) {
	dir := harcConfig(t)
	rs := filepath.Join(dir, "resource.d")
	steps := []struct {
		args      []string
		rc        int
		stdout    []string // substrings
		stderr    []string
		record    string
		on, notOn []string
	}{
		{args: []string{"listkeys"}, stdout: []string{"A::x::y\nC\n"}},
		{args: []string{"listkeys", "node2"}, stdout: []string{"C\n"}},
		{args: []string{"status", "A::x::y"}, stdout: []string{"A::x::y (preferred node node1): NONE", "A::x::y  stopped", "B        stopped"}},
		{
			args:   []string{"takegroup", "A::x::y"},
			stdout: []string{"A::x::y started on node1"},
			stderr: []string{
				"info: Acquiring resource group: node1 A::x::y B",
				"info: Running " + rs + "/A x y start",
				"info: Running " + rs + "/B  start",
			},
			record: "A x y start\nB start\n",
			on:     []string{"A", "B"},
		},
		{args: []string{"status", "1"}, stdout: []string{": ALL", "A::x::y  running  status output says \"running\""}},
		// Already running: nothing is started twice.
		{args: []string{"takegroup", "B"}, record: "", stderr: []string{"already running"}},
		{
			args:   []string{"givegroup", "A::x::y"},
			stdout: []string{"A::x::y stopped on node1"},
			stderr: []string{"info: Releasing resource group: node1 A::x::y B"},
			record: "B stop\nA x y stop\n",
			notOn:  []string{"A", "B"},
		},
		// Flags after the command; -v shows the scripts' output.
		{args: []string{"status", "C", "-v"}, stdout: []string{"C (preferred node node2): NONE"}, stderr: []string{"C is not running"}},
	}
	for _, s := range steps {
		args := append([]string{"-c", dir, "--node", "node1"}, s.args...)
		rc, out, errOut := harcRun(args...)
		if rc != s.rc {
			t.Fatalf("%v: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", s.args, rc, s.rc, out, errOut)
		}
		for _, w := range s.stdout {
			if !strings.Contains(out, w) {
				t.Errorf("%v: stdout lacks %q:\n%s", s.args, w, out)
			}
		}
		for _, w := range s.stderr {
			if !strings.Contains(errOut, w) {
				t.Errorf("%v: stderr lacks %q:\n%s", s.args, w, errOut)
			}
		}
		if got := readRecord(t, dir); got != s.record {
			t.Errorf("%v: ran %q, want %q", s.args, got, s.record)
		}
		for _, n := range s.on {
			if _, err := os.Stat(filepath.Join(dir, n+".on")); err != nil {
				t.Errorf("%v: %s not running", s.args, n)
			}
		}
		for _, n := range s.notOn {
			if _, err := os.Stat(filepath.Join(dir, n+".on")); err == nil {
				t.Errorf("%v: %s still running", s.args, n)
			}
		}
	}
}

func TestHarcFailures(t *testing.T) {
	dir := harcConfig(t)
	if err := os.WriteFile(filepath.Join(dir, "B.fail"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rc, _, errOut := harcRun("-c", dir, "--node", "node1", "takegroup", "1")
	if rc != 1 {
		t.Fatalf("failed start: exit %d\n%s", rc, errOut)
	}
	for _, w := range []string{
		"ERROR: Return code 4 from " + filepath.Join(dir, "resource.d", "B"),
		"CRIT: Giving up resources due to failure of B",
		`last output: "B: cannot start"`,
	} {
		if !strings.Contains(errOut, w) {
			t.Errorf("stderr lacks %q:\n%s", w, errOut)
		}
	}
	if got := readRecord(t, dir); got != "A x y start\nB start\nB stop\nA x y stop\n" {
		t.Errorf("ran %q", got)
	}

	tests := []struct {
		name string
		args []string
		rc   int
		msg  string
	}{
		{"no command", nil, 2, "usage: hbd harc"},
		{"unknown command", []string{"frobgroup", "1"}, 2, "bad command line"},
		{"missing group", []string{"takegroup"}, 2, "bad command line"},
		{"no such group", []string{"status", "nginx"}, 2, "unknown resource group \"nginx\"\nresource groups (number: names, haresources line):\n  1: A::x::y, A, B (line 1)\n  2: C (line 2)"},
		{"no such number", []string{"status", "3"}, 2, "there is no group 3"},
		{"a node is no group's name", []string{"status", "node1"}, 2, `unknown resource group "node1"`},
		{"bad flag", []string{"-x", "status", "1"}, 2, "flag provided but not defined"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rc, _, errOut := harcRun(append([]string{"-c", dir, "--node", "node1"}, tc.args...)...)
			if rc != tc.rc || !strings.Contains(errOut, tc.msg) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", rc, tc.rc, tc.msg, errOut)
			}
		})
	}

	// A configuration error is exit 6, with the diagnostics.
	if err := os.WriteFile(filepath.Join(dir, "haresources"), []byte("node1 A nosuch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, _, errOut = harcRun("-c", dir, "--node", "node1", "status", "1")
	if rc != 6 || !strings.Contains(errOut, "haresources:1: cannot locate resource script nosuch") {
		t.Errorf("config error: exit %d\n%s", rc, errOut)
	}
}
