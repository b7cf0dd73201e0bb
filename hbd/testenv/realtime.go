package testenv

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// NeedRealtime skips (or fails, see Skip) the test unless this process
// may run a thread SCHED_RR. Root is not enough: a container without
// CAP_SYS_NICE, or a cgroup whose real-time budget is 0 (cpu.rt_runtime_us,
// a child group's default), is refused with EPERM.
func NeedRealtime(t testing.TB) {
	t.Helper()
	if err := probeRealtime(); err != nil {
		Skip(t, "SCHED_RR is not permitted here, root or not (no CAP_SYS_NICE, or a real-time budget of 0): %v", err)
	}
}

// probeRealtime tries SCHED_RR at priority 1 on a thread locked to it,
// then gives the thread back what it had (its policy and nice value): no
// thread of the process is left switched. A thread that cannot be given
// back is not unlocked, so that the runtime ends it with the goroutine
// (or, the process's first thread, parks it for good).
func probeRealtime() error {
	done := make(chan error)
	go func() {
		runtime.LockOSThread()
		was, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			done <- err
			return
		}
		attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_RR, Priority: 1, Flags: unix.SCHED_FLAG_RESET_ON_FORK}
		if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
			runtime.UnlockOSThread() // not switched
			done <- err
			return
		}
		if unix.SchedSetAttr(0, was, 0) == nil {
			runtime.UnlockOSThread()
		}
		done <- nil
	}()
	return <-done
}
