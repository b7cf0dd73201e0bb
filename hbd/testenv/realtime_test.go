package testenv

import (
	"errors"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestProbeRealtimeLeavesThreads: the probe either may run SCHED_RR or
// is refused with EPERM, and after it every thread of the process runs
// SCHED_OTHER at the nice value of the process's first thread (a test
// run under nice keeps it).
func TestProbeRealtimeLeavesThreads(t *testing.T) {
	for range 3 {
		if err := probeRealtime(); err != nil && !errors.Is(err, unix.EPERM) {
			t.Fatalf("probe: %v, want nil or EPERM", err)
		}
	}
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	nice := ""
	for _, e := range tasks {
		b, err := os.ReadFile("/proc/self/task/" + e.Name() + "/stat")
		if err != nil {
			continue // ended
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // f[0] is field 3
		if len(f) < 39 {
			t.Fatalf("short stat line %q", s)
		}
		if policy := f[38]; policy != "0" {
			t.Errorf("thread %s runs policy %s after the probe, want 0 (SCHED_OTHER)", e.Name(), policy)
		}
		if nice == "" {
			nice = f[16] // field 19; the first thread is listed first
		} else if f[16] != nice {
			t.Errorf("thread %s runs at nice %s after the probe, the first thread at %s", e.Name(), f[16], nice)
		}
	}
}
