package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
)

// raceEnv turns the race detector on (1) or off (0) in the programs tests
// build and run; unset, it is on exactly where Required is.
const raceEnv = "HBD_TEST_RACE"

// RaceBinaries reports whether the programs tests build and run (the hbd
// daemon of the end-to-end and demo tests) are built with the race
// detector: HBD_TEST_RACE=1 or 0 says so, and unset it is on in CI
// (Required), so that a data race in the daemon fails the build there.
func RaceBinaries() bool {
	switch os.Getenv(raceEnv) {
	case "1":
		return true
	case "0":
		return false
	}
	return Required()
}

// Build builds the Go package pkg into the executable out, with -race
// when race (most callers pass RaceBinaries()) and the build tags given
// (noetcd builds hbd as make build does), and returns the go command's
// output.
func Build(out, pkg string, race bool, tags ...string) ([]byte, error) {
	args := []string{"build", "-o", out}
	if race {
		args = append(args, "-race")
	}
	if len(tags) > 0 {
		args = append(args, "-tags", strings.Join(tags, ","))
	}
	b, err := exec.Command("go", append(args, pkg)...).CombinedOutput()
	if err != nil {
		return b, fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return b, nil
}

// Races collects the data races that race-enabled programs started by the
// tests report. WatchRaces points the race detector's log_path (GORACE)
// at a directory of its own, so every such program (a daemon, a CLI call,
// one started through `ip netns exec` or a wrapper that keeps the
// environment) writes its reports there, one file per process, whatever
// its stderr is and whenever it is killed.
type Races struct {
	dir string

	mu   sync.Mutex
	seen map[string]bool
}

// WatchRaces creates dir and sets GORACE for the programs this process
// starts from now on (the test binary's own race detector read GORACE when
// it started and is unaffected). Other GORACE options are kept. It also
// sets atexit_sleep_ms=0: by default a race-enabled program sleeps a
// second before it exits, which every `hbd status` a test polls with, and
// every stop it waits for, would pay. Call it from TestMain, before any
// test runs.
func WatchRaces(dir string) (*Races, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("race reports: %w", err)
	}
	opts := strings.TrimSpace(os.Getenv("GORACE") + " atexit_sleep_ms=0 log_path=" + filepath.Join(dir, "race"))
	if err := os.Setenv("GORACE", opts); err != nil {
		return nil, fmt.Errorf("race reports: %w", err)
	}
	return &Races{dir: dir, seen: map[string]bool{}}, nil
}

// Check makes t fail, when it ends, with every race report written since
// the last Check or Unseen: call it where a test starts a program under
// test. Reports are checked after t's own cleanups registered earlier (the
// processes it killed have written all they will).
func (r *Races) Check(t testing.TB) {
	t.Helper()
	t.Cleanup(func() {
		if reports := r.Unseen(); reports != "" {
			t.Errorf("a program under test reported a data race:\n%s", reports)
		}
	})
}

// Finish is for TestMain, after m.Run returned code: a race no test
// claimed (reported by a process that outlived its test) is printed and
// fails the run. It returns the exit code.
func (r *Races) Finish(code int) int {
	if reports := r.Unseen(); reports != "" {
		fmt.Fprintf(os.Stderr, "a program under test reported a data race after its test ended:\n%s", reports)
		return 1
	}
	return code
}

// Unseen returns the race reports written since the last call (each with
// the file it came from), and marks them seen; "" when there are none.
func (r *Races) Unseen() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	files, _ := filepath.Glob(filepath.Join(r.dir, "race.*"))
	slices.Sort(files)
	var b strings.Builder
	for _, f := range files {
		if r.seen[f] {
			continue
		}
		content, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(&b, "==== %s: %v\n", f, err)
			continue
		}
		if !strings.Contains(string(content), "WARNING: DATA RACE") {
			// Opened but not written yet: read it at the next call.
			continue
		}
		r.seen[f] = true
		fmt.Fprintf(&b, "==== %s\n%s", f, content)
	}
	return b.String()
}
