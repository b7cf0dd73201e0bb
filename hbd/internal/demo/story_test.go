package main

import (
	"bufio"
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// rootLine finds the demo's temporary directory in its output.
var rootLine = regexp.MustCompile(`logs:\s+(\S+)/NODE/logs`)

// processesMentioning lists the pids whose command line contains s.
func processesMentioning(s string) []string {
	var pids []string
	dirs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, f := range dirs {
		b, err := os.ReadFile(f)
		if err == nil && bytes.Contains(b, []byte(s)) {
			pids = append(pids, filepath.Base(filepath.Dir(f)))
		}
	}
	return pids
}

// checkCleanedUp fails t if the demo left its directory or a process
// behind.
func checkCleanedUp(t *testing.T, output string) {
	t.Helper()
	m := rootLine.FindStringSubmatch(output)
	if m == nil {
		t.Fatalf("no temporary directory in the output:\n%s", output)
	}
	root := m[1]
	if _, err := os.Stat(root); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still exists after the demo (%v)", root, err)
		os.RemoveAll(root)
	}
	if pids := processesMentioning(root); len(pids) > 0 {
		t.Errorf("processes left behind: %v", pids)
		for _, p := range pids {
			if cmd, err := os.ReadFile("/proc/" + p + "/cmdline"); err == nil {
				t.Logf("  %s: %s", p, bytes.ReplaceAll(cmd, []byte{0}, []byte{' '}))
			}
		}
	}
}

// TestDemo runs the whole loopback demo as `make demo` does and checks
// its story, its exit status and that it cleaned up. A demo in which no
// resource group ran (it exits 3) fails: the story it tells is the groups'.
func TestDemo(t *testing.T) {
	if testing.Short() {
		t.Skip("the whole demo takes about 20 s")
	}
	races.Check(t)
	cmd := exec.Command(demoBin, "run", "--hbd", hbdBin, "--hold", "500ms")
	cmd.Env = append(os.Environ(), "KEEP=0", "NETNS=0")
	out, err := cmd.CombinedOutput()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	checkCleanedUp(t, string(out))
	if code == exitNoGroups {
		t.Fatalf("no resource group ran (`hbd status --json` reports none); the demo said:\n%s", out)
	}
	if code != 0 {
		t.Fatalf("hbd-demo exited %d:\n%s", code, out)
	}
	s := string(out)
	t.Logf("demo output:\n%s", s)
	for _, want := range []string{
		"Responders, in order: node_1 -> node_2 -> node_1 -> node_2",
		"| kill -9 node_1: node_2 takes over |",
		"| restart node_1: failback |",
		"| SIGTERM node_1: node_2 takes over |",
		"nobody answers any more",
		"node_2 log:",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// TestDemoInterrupted sends SIGINT (Ctrl-C) once both nodes run: the demo
// must stop them and their web servers, remove its directory and exit 130.
func TestDemoInterrupted(t *testing.T) {
	races.Check(t)
	cmd := exec.Command(demoBin, "run", "--hbd", hbdBin)
	cmd.Env = append(os.Environ(), "KEEP=0", "NETNS=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	var out strings.Builder
	sc := bufio.NewScanner(stdout)
	started := false
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
		if strings.Contains(sc.Text(), "started node_2") {
			started = true
			break
		}
	}
	if !started {
		t.Fatalf("the demo never started node_2:\n%s%s", out.String(), stderr.String())
	}
	// Let it get into its stride (hbd up, the group maybe starting).
	time.Sleep(300 * time.Millisecond)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		out.WriteString(sc.Text() + "\n")
	}
	err = cmd.Wait()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	}
	if code == exitNoGroups {
		// It stopped on its own before the signal came: cleanup is still checked.
		t.Errorf("no resource group ran; the demo stopped on its own before SIGINT\n%s%s", out.String(), stderr.String())
	} else if code != exitInterrupted {
		t.Errorf("exit code %d after SIGINT, want %d\n%s%s", code, exitInterrupted, out.String(), stderr.String())
	}
	checkCleanedUp(t, out.String())
}
