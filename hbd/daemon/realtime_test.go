package daemon

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
	"golang.org/x/sys/unix"
)

// TestRealtimeSweep runs in a child process of the test binary (so that
// no thread of the test process itself runs real-time): a sweep switches
// every thread to SCHED_RR at the priority (every thread listed before
// it: the runtime may start one at any time, missed); threads the
// runtime creates afterwards and programs the process starts run
// SCHED_OTHER until the next sweep switches the threads (never the
// programs); a sweep at 0 switches them back.
func TestRealtimeSweep(t *testing.T) {
	if !inRootChild(t) {
		return
	}
	var r rtSched
	before := listThreads(t)
	if err := r.sweep(3); err != nil {
		t.Fatal(err)
	}
	if got := threadPolicies(t); len(got["RR/3"]) == 0 || len(missed(before, got, "RR/3")) > 0 {
		t.Fatalf("after a sweep at 3: %v, want every thread RR/3", got)
	}

	// New threads: goroutines locked to threads of their own.
	release := make(chan struct{})
	defer close(release)
	lockThreads(4, release)
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
	before = listThreads(t)
	if err := r.sweep(3); err != nil {
		t.Fatal(err)
	}
	if got := threadPolicies(t); len(got["RR/3"]) == 0 || len(missed(before, got, "RR/3")) > 0 {
		t.Errorf("after the next sweep: %v, want every thread RR/3", got)
	}
	if err := r.sweep(0); err != nil {
		t.Fatal(err)
	}
	if got := threadPolicies(t); len(got) != 1 || len(got["OTHER/0"]) == 0 {
		t.Errorf("after a sweep at 0: %v, want every thread SCHED_OTHER", got)
	}
}

// TestRealtimeCheck runs in a child process as TestRealtimeSweep does:
// check sweeps at once when the priority asked for changes or the count
// of threads it is given changes, and otherwise only once rtSweepEvery
// has passed (threads added with the count given unchanged, as when one
// ends while another starts, stay as they started until then).
func TestRealtimeCheck(t *testing.T) {
	if !inRootChild(t) {
		return
	}
	var reports []string
	var r rtSched
	r.init(func(prio int32, err error) { reports = append(reports, fmt.Sprint(prio, err)) })
	now := time.Now()
	r.want = 3
	before, counted := listThreads(t), threadCount()
	r.check(now)
	if got := threadPolicies(t); len(got["RR/3"]) == 0 || len(missed(before, got, "RR/3")) > 0 {
		t.Fatalf("after the first check at 3: %v, want every thread RR/3", got)
	}
	// The runtime may add a thread at any time: the count check read is
	// the runtime's between the two readings around it.
	if after := threadCount(); r.threads < counted || r.threads > after {
		t.Errorf("check kept a count of %d threads, the runtime counted %d before and %d after", r.threads, counted, after)
	}
	n := r.threads

	release := make(chan struct{})
	defer close(release)
	steps := []struct {
		name  string
		at    time.Duration
		count uint64
		want  string // the policy of the threads added before the step
	}{
		{"count unchanged", time.Millisecond, n, "OTHER/0"},
		{"count changed", 2 * time.Millisecond, n + 4, "RR/3"},
		{"count unchanged again", rtSweepEvery / 2, n + 4, "OTHER/0"},
		{"periodic sweep", rtSweepEvery + 2*time.Millisecond, n + 4, "RR/3"},
	}
	for _, st := range steps {
		if st.want == "OTHER/0" {
			lockThreads(4, release)
		}
		before := listThreads(t)
		r.checkCount(now.Add(st.at), st.count)
		checkStep(t, st.name, st.want, before, "sweep")
	}

	// A new priority is applied at once.
	r.want = 0
	r.checkCount(now.Add(rtSweepEvery+3*time.Millisecond), n+4)
	if got := threadPolicies(t); len(got) != 1 || len(got["OTHER/0"]) == 0 {
		t.Errorf("after a check at 0: %v, want every thread SCHED_OTHER", got)
	}
	if want := []string{"3 <nil>", "0 <nil>"}; !slices.Equal(reports, want) {
		t.Errorf("reports %q, want %q", reports, want)
	}
}

// TestRealtimeCountEvery runs in a child process as TestRealtimeSweep
// does: check reads the runtime's count of threads at most every
// rtCountEvery, so threads added meanwhile are switched at the first check
// after it, and a new priority asked for is applied at once whatever the
// time.
func TestRealtimeCountEvery(t *testing.T) {
	if !inRootChild(t) {
		return
	}
	var r rtSched
	r.init(func(int32, error) {})
	now := time.Now()
	r.want = 3
	r.check(now)
	release := make(chan struct{})
	defer close(release)
	steps := []struct {
		name string
		at   time.Duration
		want string // the policy of the threads added before the step
	}{
		{"within rtCountEvery", rtCountEvery / 2, "OTHER/0"},
		{"rtCountEvery after the last read", rtCountEvery, "RR/3"},
		{"within rtCountEvery again", rtCountEvery + time.Millisecond, "OTHER/0"},
		{"rtCountEvery after the last read again", 2 * rtCountEvery, "RR/3"},
	}
	for _, st := range steps {
		lockThreads(2, release)
		before := listThreads(t)
		r.check(now.Add(st.at))
		checkStep(t, st.name, st.want, before, "read")
	}
	r.want = 4
	before := listThreads(t)
	r.check(now.Add(2*rtCountEvery + time.Millisecond))
	if got := threadPolicies(t); len(got["RR/4"]) == 0 || len(missed(before, got, "RR/4")) > 0 {
		t.Errorf("a new priority within rtCountEvery: %v, want every thread RR/4", got)
	}
}

// lockThreads starts goroutines that lock threads of their own until
// release is closed, as many as it takes for the runtime to add n
// threads: the first may take threads it had idle, which a sweep may
// have switched already.
func lockThreads(n int, release <-chan struct{}) {
	want := threadCount() + uint64(n)
	started := make(chan struct{})
	for threadCount() < want {
		go func() {
			runtime.LockOSThread()
			started <- struct{}{}
			<-release
		}()
		<-started
	}
}

// threadCount is the runtime's count of its threads, as check reads it.
func threadCount() uint64 {
	s := []metrics.Sample{{Name: rtThreadsMetric}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// listThreads lists the threads as a sweep does, failing t on an error.
// checkStep checks the threads' policies after a step of a realtime test:
// "RR/3", every thread listed before the step switched (at least one);
// "OTHER/0", some thread added since the last sweep or read (since says
// which) still SCHED_OTHER.
func checkStep(t *testing.T, name, want string, before []int, since string) {
	t.Helper()
	got := threadPolicies(t)
	if want == "RR/3" && (len(got["RR/3"]) == 0 || len(missed(before, got, "RR/3")) > 0) {
		t.Errorf("%s: %v, want every thread RR/3", name, got)
	}
	if want == "OTHER/0" && len(got["OTHER/0"]) == 0 {
		t.Errorf("%s: %v, want the threads added since the last %s OTHER/0", name, got, since)
	}
}

func listThreads(t *testing.T) []int {
	t.Helper()
	var td taskDir
	defer td.close()
	tids, err := td.list(nil)
	if err != nil {
		t.Fatal(err)
	}
	return tids
}

// missed is the threads of before that are in got under a policy other
// than want. A thread started after before was listed is not one of
// them: the runtime starts threads when it likes, and one that starts
// after a sweep's listing is switched at the next sweep.
func missed(before []int, got map[string][]int, want string) []int {
	var out []int
	for p, tids := range got {
		for _, tid := range tids {
			if p != want && slices.Contains(before, tid) {
				out = append(out, tid)
			}
		}
	}
	return out
}

// threadPolicies groups this process's threads by "POLICY/PRIORITY".
func threadPolicies(t *testing.T) map[string][]int {
	t.Helper()
	tids := listThreads(t)
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

// inRootChild reports whether the test runs in the child that testenv
// starts as root, where it does its work (its threads' scheduling is the
// child's own); in the parent it runs that child, says how it ended, and
// reports false.
func inRootChild(t *testing.T) bool {
	t.Helper()
	if testenv.InChild(t) {
		return true
	}
	testenv.NeedRoot(t, "SCHED_RR")
	testenv.NeedRealtime(t)
	if out, err := testenv.RunAs(t, 0, 0); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	return false
}

// TestRealtimeRefused: the warning of a refused switch says why for
// EPERM, for root and for another user, and adds nothing otherwise.
func TestRealtimeRefused(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		root bool
		want string // in the hint; "" for no hint
	}{
		{"root refused", fmt.Errorf("thread 7: %w", unix.EPERM), true, "cpu.rt_runtime_us 0"},
		{"root without the capability", unix.EPERM, true, "CAP_SYS_NICE"},
		{"not root", fmt.Errorf("thread 7: %w", unix.EPERM), false, "needs root or CAP_SYS_NICE"},
		{"another error", fmt.Errorf("thread 7: %w", unix.EINVAL), true, ""},
		{"no thread list", errors.New("/proc/self/task: no such file"), false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := realtimeRefused(tc.err, tc.root)
			if tc.want == "" && got != "" || !strings.Contains(got, tc.want) {
				t.Errorf("realtimeRefused(%v, root %v) = %q, want %q in it", tc.err, tc.root, got, tc.want)
			}
		})
	}
}
