package main

import (
	"os"
	"runtime"
	"testing"
)

// The busy GOMAXPROCS is the CPUs the caller counted (the runtime's
// default, which a cgroup's CPU limit lowers), at least 2, and the
// daemon's own 1 after; an operator's GOMAXPROCS leaves it alone.
func TestBusyProcs(t *testing.T) {
	if os.Getenv("GOMAXPROCS") != "" {
		t.Skip("GOMAXPROCS is set in the environment")
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, tc := range []struct{ cpus, want int }{{1, 2}, {2, 2}, {3, 3}} {
		busy := busyProcs(tc.cpus)
		busy(true)
		if got := runtime.GOMAXPROCS(0); got != tc.want {
			t.Errorf("cpus %d: busy GOMAXPROCS %d, want %d", tc.cpus, got, tc.want)
		}
		busy(false)
		if got := runtime.GOMAXPROCS(0); got != daemonProcs {
			t.Errorf("cpus %d: after, GOMAXPROCS %d, want %d", tc.cpus, got, daemonProcs)
		}
	}
	t.Setenv("GOMAXPROCS", "4")
	if busyProcs(8) != nil {
		t.Error("GOMAXPROCS set in the environment: want no busy setting")
	}
}
