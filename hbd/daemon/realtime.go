package daemon

import (
	"errors"
	"fmt"
	"os"
	"runtime/metrics"
	"time"

	"golang.org/x/sys/unix"
)

// Real-time scheduling: ha.cf `realtime on` (the default, as in
// Heartbeat) runs the daemon SCHED_RR at `rtprio` (docs/config.md), so
// that on a busy machine its heartbeats are not delayed behind ordinary
// processes.
//
// Linux schedules threads, not processes, and a Go program runs on
// threads the runtime creates when it needs them. Every thread of the
// process is switched to SCHED_RR with SCHED_FLAG_RESET_ON_FORK: what a
// switched thread creates starts SCHED_OTHER at nice 0. That is what the
// resource scripts, rc.d hooks and fence programs hbd runs must get (a
// looping script must not outrank the machine's other work); the runtime's
// later threads start that way too, and the event loop switches them when
// it next wakes (check). Memory is not locked (mlockall): Go reserves its
// heap in large arenas, and locking them multiplies the resident size
// (docs/config.md has the figures).
//
// The check rides on the loop's own wake-ups and on the standing status
// order's sends (every two keepalives at most: standing.go)
// and costs no system call: it compares the runtime's count of its
// threads (runtime/metrics) with the count at the last sweep, and lists
// /proc/self/task only when that count changed, the priority asked for
// changed, or rtSweepEvery passed. A sweep of its own every second woke
// the process (and the runtime's monitor thread, which sleeps until the
// next runtime timer) once more a second and read the directory each
// time. The periodic sweep is the backstop for a thread that ends
// (a goroutine that locked its thread and returns) while another starts
// between two checks, which leaves the count as it was.

// rtSweepEvery is how often the threads are listed whatever their count
// says, and how soon a failed switch is tried again.
const rtSweepEvery = 10 * time.Second

// rtCountEvery is how often check reads the runtime's count of threads at
// most. Read at every wake-up it was 2 to 3 % of a wake-up's CPU (the
// metrics' lock and lookup run with cold caches at rest); a thread the
// runtime adds (a goroutine blocked in a system call, during a group
// operation) is switched within this bound instead of at the next
// wake-up, as it always was at a keepalive of this length or more.
const rtCountEvery = 100 * time.Millisecond

// rtThreadsMetric is the runtime's count of the threads it owns.
const rtThreadsMetric = "/sched/threads/total:threads"

// rtSched applies a real-time priority to the process's threads; 0 is
// normal scheduling (SCHED_OTHER). It belongs to the event loop's
// goroutine.
type rtSched struct {
	want int32 // the priority asked for (start, reload)
	// report logs what a sweep did: the first time a priority is in
	// force, and the first failure of each priority.
	report func(prio int32, err error)

	applied map[int]int32 // thread id -> what it was given
	ever    bool          // a real-time priority was applied once
	failed  int32         // the priority whose failure was reported (-1: none)
	last    int32         // the priority in force after the last sweep that succeeded
	tried   int32         // the priority of the last sweep
	threads uint64        // the runtime's thread count at the last sweep
	next    time.Time     // the next sweep whatever the count says (zero: none ran)
	counted time.Time     // when check last read the count
	sample  [1]metrics.Sample
	tasks   taskDir // lists the threads (sweep)
	tids    []int   // the last list, reused
}

// startRealtime applies the configuration's real-time priority now; the
// event loop keeps new threads switched (rt.check).
func (d *Daemon) startRealtime() {
	d.rt.init(func(prio int32, err error) {
		switch {
		case err != nil:
			d.log.Warnf("realtime: cannot run SCHED_RR at priority %d (%v); the daemon's threads keep normal priority%s",
				prio, err, realtimeRefused(err, os.Geteuid() == 0))
		case prio > 0:
			d.log.Infof("realtime: the daemon's threads run SCHED_RR at priority %d", prio)
		default:
			d.log.Infof("realtime off: the daemon's threads run at normal priority")
		}
	})
	d.rt.want = int32(d.cfg.RealtimePriority())
	d.rt.check(time.Now())
}

// realtimeRefused says, for the warning, why the kernel refuses SCHED_RR
// with EPERM ("" for another error): root alone is not enough.
func realtimeRefused(err error, root bool) string {
	switch {
	case !errors.Is(err, unix.EPERM):
		return ""
	case !root:
		return ": it needs root or CAP_SYS_NICE (or `realtime off`)"
	}
	return ": root is refused it without CAP_SYS_NICE (a container's default capabilities lack it) or in a cgroup " +
		"with no real-time budget (cgroup v1 cpu.rt_runtime_us 0, as containers and systemd's slices may have); " +
		"give it those, or set `realtime off`"
}

func (r *rtSched) init(report func(prio int32, err error)) {
	r.report = report
	r.failed = -1
	r.sample[0].Name = rtThreadsMetric
}

// check sweeps when the priority asked for changed since the last sweep,
// the runtime's count of threads changed (read at most every
// rtCountEvery), or the time for the periodic sweep came; otherwise it
// costs a read of the runtime's counters, or nothing.
func (r *rtSched) check(now time.Time) {
	if r.want == 0 && !r.ever {
		return // never switched: nothing to look after (sweep would do nothing)
	}
	if r.want == r.tried && now.Before(r.next) && now.Sub(r.counted) < rtCountEvery && !now.Before(r.counted) {
		return
	}
	r.counted = now
	metrics.Read(r.sample[:])
	n := uint64(0)
	if r.sample[0].Value.Kind() == metrics.KindUint64 {
		n = r.sample[0].Value.Uint64()
	}
	r.checkCount(now, n)
}

// checkCount is check with the runtime's count of threads n. A sweep that
// failed (no CAP_SYS_NICE) is tried again only at the periodic sweep or
// when the count changes, not at every wake.
func (r *rtSched) checkCount(now time.Time, n uint64) {
	if r.want == r.tried && n == r.threads && now.Before(r.next) { // a zero next: the first check sweeps
		return
	}
	prio := r.want
	err := r.sweep(prio)
	r.tried, r.threads, r.next = prio, n, now.Add(rtSweepEvery)
	switch {
	case err != nil && r.failed != prio:
		r.failed = prio
		r.report(prio, err)
	case err == nil && prio != r.last:
		r.failed = -1
		r.report(prio, nil)
	case err == nil && r.failed == prio:
		r.failed = -1
	}
	if err == nil {
		r.last = prio
	}
}

// sweep gives every thread of the process not given it yet priority prio
// (SCHED_RR), or normal scheduling for 0 once a priority was given. A
// thread that exits meanwhile is skipped; the first other failure is
// returned and the thread is tried again at the next sweep.
func (r *rtSched) sweep(prio int32) error {
	if prio == 0 && !r.ever {
		return nil // never switched: leave the threads as started (nice included)
	}
	tids, err := r.tasks.list(r.tids)
	if err != nil {
		return err
	}
	r.tids = tids
	now := make(map[int]int32, len(tids))
	var first error
	for _, tid := range tids {
		if p, ok := r.applied[tid]; ok && p == prio {
			now[tid] = p
			continue
		}
		if err := setThreadPriority(tid, prio); err != nil {
			if !errors.Is(err, unix.ESRCH) && first == nil {
				first = fmt.Errorf("thread %d: %w", tid, err)
			}
			continue
		}
		now[tid] = prio
		r.ever = r.ever || prio > 0
	}
	r.applied = now
	return first
}

// setThreadPriority: SCHED_RR at prio, or SCHED_OTHER at nice 0 for 0;
// either way what the thread creates starts SCHED_OTHER.
func setThreadPriority(tid int, prio int32) error {
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_NORMAL, Flags: unix.SCHED_FLAG_RESET_ON_FORK}
	if prio > 0 {
		attr.Policy, attr.Priority = unix.SCHED_RR, uint32(prio)
	}
	return unix.SchedSetAttr(tid, &attr, 0)
}
