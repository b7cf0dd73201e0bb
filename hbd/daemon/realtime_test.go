package daemon

import (
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/hbdproject/hbd/hbd/testenv"
)

// TestRealtimeSweep runs in a child process of the test binary (so that
// no thread of the test process itself runs real-time): a sweep switches
// every thread to SCHED_RR at the priority; threads the runtime creates
// afterwards and programs the process starts run SCHED_OTHER until the
// next sweep switches the threads (never the programs); a sweep at 0
// switches them back.
func TestRealtimeSweep(t *testing.T) {
	if !testenv.InChild(t) {
		testenv.NeedRoot(t, "SCHED_RR")
		if out, err := testenv.RunAs(t, 0, 0); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return
	}
	var r rtSched
	if err := r.sweep(3); err != nil {
		t.Fatal(err)
	}
	if got := threadPolicies(t); len(got["RR/3"]) == 0 || len(got) != 1 {
		t.Fatalf("after a sweep at 3: %v, want every thread RR/3", got)
	}

	// New threads: goroutines locked to threads of their own.
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	for range 4 {
		go func() {
			runtime.LockOSThread()
			started <- struct{}{}
			<-release
		}()
		<-started
	}
	if got := threadPolicies(t); len(got["OTHER/0"]) == 0 {
		t.Errorf("threads created after the sweep: %v, want some SCHED_OTHER before the next sweep", got)
	}
	out, err := exec.Command("/bin/sh", "-c", "cat /proc/$$/stat").Output()
	if err != nil {
		t.Fatal(err)
	}
	if p := statPolicy(t, string(out)); p != "OTHER/0" {
		t.Errorf("a program started by the process runs %s, want OTHER/0", p)
	}
	if err := r.sweep(3); err != nil {
		t.Fatal(err)
	}
	if got := threadPolicies(t); len(got) != 1 || len(got["RR/3"]) == 0 {
		t.Errorf("after the next sweep: %v, want every thread RR/3", got)
	}
	if err := r.sweep(0); err != nil {
		t.Fatal(err)
	}
	if got := threadPolicies(t); len(got) != 1 || len(got["OTHER/0"]) == 0 {
		t.Errorf("after a sweep at 0: %v, want every thread SCHED_OTHER", got)
	}
}

// threadPolicies groups this process's threads by "POLICY/PRIORITY".
func threadPolicies(t *testing.T) map[string][]int {
	t.Helper()
	tids, err := threadIDs()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string][]int{}
	for _, tid := range tids {
		b, err := os.ReadFile("/proc/self/task/" + strconv.Itoa(tid) + "/stat")
		if err != nil {
			continue // exited
		}
		p := statPolicy(t, string(b))
		m[p] = append(m[p], tid)
	}
	return m
}

// statPolicy reads rt_priority and policy (fields 40 and 41) of a
// /proc/PID/stat line.
func statPolicy(t *testing.T, stat string) string {
	t.Helper()
	i := strings.LastIndexByte(stat, ')')
	f := strings.Fields(stat[i+1:]) // f[0] is field 3
	if len(f) < 39 {
		t.Fatalf("short stat line %q", stat)
	}
	name := map[string]string{"0": "OTHER", "1": "FIFO", "2": "RR"}[f[38]]
	if name == "" {
		name = f[38]
	}
	return name + "/" + f[37]
}
