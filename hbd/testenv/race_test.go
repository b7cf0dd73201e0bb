package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestRaceBinaries(t *testing.T) {
	cases := []struct {
		ci, race string
		want     bool
	}{
		{"", "", false},
		{"true", "", true},
		{"true", "0", false},
		{"", "1", true},
		{"false", "1", true},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprintf("CI=%q,HBD_TEST_RACE=%q", tc.ci, tc.race), func(t *testing.T) {
			t.Setenv("CI", tc.ci)
			t.Setenv("HBD_REQUIRE_ROOT_TESTS", "")
			t.Setenv(raceEnv, tc.race)
			if got := RaceBinaries(); got != tc.want {
				t.Errorf("RaceBinaries() = %v, want %v", got, tc.want)
			}
		})
	}
}

// cleanupRecorder is a testing.TB that keeps its cleanups and errors, so
// that a test can end it and see what it reported.
type cleanupRecorder struct {
	testing.TB
	cleanups []func()
	errs     []string
}

func (r *cleanupRecorder) Helper()          {}
func (r *cleanupRecorder) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *cleanupRecorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}
func (r *cleanupRecorder) end() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
	r.cleanups = nil
}

// racy is a program with a data race on counter.
const racy = `package main

import "fmt"

func main() {
	counter := 0
	done := make(chan bool)
	go func() { counter++; done <- true }()
	counter++
	<-done
	fmt.Println(counter)
}
`

// TestRacesCatchesARace builds a racy program with -race, runs it under
// WatchRaces, and expects the test that ran it to fail with the report
// (once), and a clean run to pass.
func TestRacesCatchesARace(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program with -race")
	}
	dir := t.TempDir()
	src := filepath.Join(dir, "racy.go")
	if err := os.WriteFile(src, []byte(racy), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(raceEnv, "1")
	bin := filepath.Join(dir, "racy")
	if out, err := Build(bin, src, RaceBinaries()); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Setenv("GORACE", "halt_on_error=0")
	races, err := WatchRaces(filepath.Join(dir, "races"))
	if err != nil {
		t.Fatal(err)
	}
	if g := os.Getenv("GORACE"); !strings.HasPrefix(g, "halt_on_error=0 atexit_sleep_ms=0 log_path=") {
		t.Errorf("GORACE = %q, want the options kept and log_path added", g)
	}

	var clean cleanupRecorder
	races.Check(&clean)
	clean.end()
	if len(clean.errs) != 0 {
		t.Errorf("no program ran, yet: %q", clean.errs)
	}

	var r cleanupRecorder
	races.Check(&r)
	out, err := exec.Command(bin).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 66 {
		t.Errorf("the racy program: %v, want exit status 66 (a race found)\n%s", err, out)
	}
	if strings.Contains(string(out), "DATA RACE") {
		t.Errorf("the report went to the program's output, not to the race directory:\n%s", out)
	}
	r.end()
	if len(r.errs) != 1 || !strings.Contains(r.errs[0], "WARNING: DATA RACE") || !strings.Contains(r.errs[0], "racy.go") {
		t.Fatalf("want one error with the report, got %q", r.errs)
	}
	if u := races.Unseen(); u != "" {
		t.Errorf("a report is given twice:\n%s", u)
	}
	if code := races.Finish(0); code != 0 {
		t.Errorf("Finish(0) with every report claimed = %d, want 0", code)
	}
	// A race no test claimed fails the run at the end.
	_ = exec.Command(bin).Run()
	if code := races.Finish(0); code != 1 {
		t.Errorf("Finish(0) with an unclaimed report = %d, want 1", code)
	}
}
