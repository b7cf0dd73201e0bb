package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
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
// later threads start that way too, and the next sweep (every
// rtSweepEvery) switches them. Memory is not locked (mlockall): Go
// reserves its heap in large arenas, and locking them multiplies the
// resident size (docs/config.md has the figures).

// rtSweepEvery is how often new threads of the process are switched.
const rtSweepEvery = time.Second

// rtSched applies a real-time priority to the process's threads; 0 is
// normal scheduling (SCHED_OTHER). want is set by the event loop (start,
// reload) and read by the sweeper goroutine.
type rtSched struct {
	want atomic.Int32
	// Owned by the sweeper:
	applied map[int]int32 // thread id -> what it was given
	ever    bool          // a real-time priority was applied once
	failed  int32         // the priority whose failure was reported
}

// startRealtime applies the configuration's real-time priority now, then
// keeps new threads switched until ctx ends (a reload changes it with
// rt.want).
func (d *Daemon) startRealtime(ctx context.Context) {
	d.rt.want.Store(int32(d.cfg.RealtimePriority()))
	first := make(chan struct{})
	go d.rt.run(ctx, func(prio int32, err error) {
		switch {
		case err != nil:
			d.log.Warnf("realtime: cannot run SCHED_RR at priority %d (%v); the daemon's threads keep normal priority", prio, err)
		case prio > 0:
			d.log.Infof("realtime: the daemon's threads run SCHED_RR at priority %d", prio)
		default:
			d.log.Infof("realtime off: the daemon's threads run at normal priority")
		}
	}, first)
	<-first
}

// run sweeps until ctx ends, logging what it did through report: the
// first time a priority is in force, and the first failure of each.
// first is closed after the first sweep.
func (r *rtSched) run(ctx context.Context, report func(prio int32, err error), first chan<- struct{}) {
	t := time.NewTicker(rtSweepEvery)
	defer t.Stop()
	last := int32(0) // threads start with normal scheduling
	r.failed = -1
	for {
		prio := r.want.Load()
		err := r.sweep(prio)
		switch {
		case err != nil && r.failed != prio:
			r.failed = prio
			report(prio, err)
		case err == nil && prio != last:
			r.failed = -1
			report(prio, nil)
		}
		if err == nil {
			last = prio
		}
		if first != nil {
			close(first)
			first = nil
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
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
	tids, err := threadIDs()
	if err != nil {
		return err
	}
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

// threadIDs lists the threads of this process.
func threadIDs() ([]int, error) {
	ents, err := os.ReadDir("/proc/self/task")
	if err != nil {
		return nil, fmt.Errorf("threads: %w", err)
	}
	tids := make([]int, 0, len(ents))
	for _, e := range ents {
		if tid, err := strconv.Atoi(e.Name()); err == nil {
			tids = append(tids, tid)
		}
	}
	return tids, nil
}
