//go:build linux

package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// IdlePair is one pair of a concurrent idle measurement: a daemon under a
// label of its own ("old", "new", "keepalived"), at its timing.
type IdlePair struct {
	Label  string
	Driver Driver
	Timing Timing
}

// NodeIdle is one node's cost over a window.
type NodeIdle struct {
	CPUPercent   float64 // every thread of every process of the node, in % of one CPU
	SlicesPerSec float64 // timeslices (a thread put on a CPU) per second, every thread
	RSSKB        int     // at the window's end, the node's processes together
}

// PairIdle is one pair's cost over a window.
type PairIdle struct {
	Label        string
	Rig          int // which of the rigs it ran in (its position); -1: none
	Nodes        [2]NodeIdle
	FramesPerSec float64 // frames both nodes sent
	Elapsed      time.Duration
	Err          string
}

// IdleWindow is one window of a concurrent idle measurement: every pair
// measured over the same stretch of time.
type IdleWindow struct {
	Rotation           int
	Started            time.Time
	Window             time.Duration
	LoadStart, LoadEnd string
	// Steal and Busy are the machine's, over the window, in % of all its
	// CPUs (/proc/stat): time the hypervisor gave to others, and time
	// spent running anything.
	Steal, Busy float64
	Pairs       []PairIdle
}

// PairRig is the rig pair j runs in at rotation rot among n rigs: each
// window of a series moves every pair to another rig, so that what a
// position costs (its namespaces' names, its start order) falls on each
// pair in turn. There is none when there are no rigs.
func PairRig(j, rot, n int) (int, error) {
	if n <= 0 {
		return 0, fmt.Errorf("no rig for pair %d among %d rigs", j, n)
	}
	return ((j+rot)%n + n) % n, nil
}

// ConcurrentIdle starts every pair in a rig of its own (pair j in rigs
// [PairRig(j, rot, len(rigs))]), all at once, waits until each serves and
// has settled, and then measures every node of every pair over the same
// window: the CPU time of every thread (schedstat) and its timeslices at
// the window's start and end, the frames the pair sent, its RSS. It stops
// every pair before it returns. There must be as many rigs as pairs:
// when there are not, every pair fails at once.
func ConcurrentIdle(ctx context.Context, rigs []*Rig, pairs []IdlePair, rot int, window time.Duration, logf func(string, ...any)) IdleWindow {
	res := IdleWindow{Rotation: rot, Window: window, Pairs: make([]PairIdle, len(pairs))}
	for j, p := range pairs {
		res.Pairs[j] = PairIdle{Label: p.Label, Rig: -1}
	}
	if len(rigs) != len(pairs) {
		res.setErr(fmt.Errorf("%d rigs for %d pairs", len(rigs), len(pairs)))
		return res
	}
	type live struct {
		rn *Runner
		cl Cluster
	}
	runs := make([]live, len(pairs))
	settle := time.Duration(0)
	for j, p := range pairs {
		rig, err := PairRig(j, rot, len(rigs))
		if err != nil {
			res.Pairs[j].Err = err.Error()
			continue
		}
		res.Pairs[j].Rig = rig
		rn := &Runner{Rig: rigs[rig], Every: 10 * time.Millisecond, Logf: logf}
		cl, err := p.Driver.Cluster(rn.Rig, p.Timing)
		if err != nil {
			res.Pairs[j].Err = err.Error()
			continue
		}
		runs[j] = live{rn, cl}
		settle = max(settle, idleSettle(p.Timing))
	}
	defer func() {
		for _, l := range runs {
			if l.cl != nil {
				_ = l.rn.reset(l.cl)
			}
		}
	}()
	// Every pair starts at once and waits until it serves, settled.
	var wg sync.WaitGroup
	for j, l := range runs {
		if l.cl == nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := l.rn.reset(l.cl); err != nil {
				res.Pairs[j].Err = err.Error()
				return
			}
			o, stop, err := l.rn.observe()
			if err != nil {
				res.Pairs[j].Err = err.Error()
				return
			}
			err = l.rn.up(ctx, l.cl, pairs[j].Timing, o)
			stop()
			if err != nil {
				res.Pairs[j].Err = err.Error()
			}
		}()
	}
	wg.Wait()
	if err := sleepCtx(ctx, settle); err != nil {
		res.setErr(err)
		return res
	}
	type sample struct {
		at     time.Time
		cpu    [2]map[int]cpuSample
		frames uint64
		err    error
	}
	take := func() []sample {
		out := make([]sample, len(runs))
		for j, l := range runs {
			if l.cl == nil || res.Pairs[j].Err != "" {
				continue
			}
			s := &out[j]
			s.at = time.Now()
			s.cpu, s.err = l.rn.cpuTime(l.cl)
			if s.err == nil {
				s.frames, s.err = l.rn.sentFrames()
			}
		}
		return out
	}
	st0, _ := readProcStat()
	res.Started, res.LoadStart = time.Now(), LoadAverage()
	s0 := take()
	if err := sleepCtx(ctx, window); err != nil {
		res.setErr(err)
		return res
	}
	s1 := take()
	st1, _ := readProcStat()
	res.LoadEnd = LoadAverage()
	res.Steal, res.Busy = st1.since(st0)
	for j, l := range runs {
		pr := &res.Pairs[j]
		if l.cl == nil || pr.Err != "" {
			continue
		}
		if err := firstErr(s0[j].err, s1[j].err); err != nil {
			pr.Err = err.Error()
			continue
		}
		pr.Elapsed = s1[j].at.Sub(s0[j].at)
		for i := range 2 {
			pr.Nodes[i].CPUPercent, pr.Nodes[i].SlicesPerSec = nodeUse(s0[j].cpu[i], s1[j].cpu[i], pr.Elapsed)
			pids, err := l.cl.PIDs(i)
			if err != nil {
				pr.Err = err.Error()
				continue
			}
			for _, pid := range pids {
				kb, _ := rssKB(pid)
				pr.Nodes[i].RSSKB += kb
			}
		}
		pr.FramesPerSec = float64(s1[j].frames-s0[j].frames) / pr.Elapsed.Seconds()
	}
	return res
}

// setErr marks every pair not yet failed with err.
func (w *IdleWindow) setErr(err error) {
	for j := range w.Pairs {
		if w.Pairs[j].Err == "" {
			w.Pairs[j].Err = err.Error()
		}
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// nodeUse is what a node's processes used between two samples taken el
// apart: CPU in % of one CPU and timeslices a second. Only processes in
// both samples count (a process that started or ended in between has no
// start or end to count from).
func nodeUse(a, b map[int]cpuSample, el time.Duration) (cpuPercent, slicesPerSec float64) {
	if el <= 0 {
		return 0, 0
	}
	var ns, sl uint64
	for pid, s1 := range b {
		s0, ok := a[pid]
		if !ok {
			continue
		}
		ns += s1.since(s0)
		if s1.slices >= s0.slices {
			sl += s1.slices - s0.slices
		}
	}
	return float64(ns) / float64(el.Nanoseconds()) * 100, float64(sl) / el.Seconds()
}

// procStat0 is /proc/stat's first line: the time of all CPUs, in clock
// ticks, by kind.
type procStat0 struct {
	total, steal, idle uint64
}

func readProcStat() (procStat0, error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return procStat0{}, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	return parseProcStat(line)
}

// parseProcStat reads the "cpu" line: user nice system idle iowait irq
// softirq steal (guest and guest_nice are inside user and nice).
func parseProcStat(line string) (procStat0, error) {
	f := strings.Fields(line)
	if len(f) < 9 || f[0] != "cpu" {
		return procStat0{}, fmt.Errorf("/proc/stat: unexpected first line %q", line)
	}
	var v [8]uint64
	var st procStat0
	for i := range v {
		n, err := strconv.ParseUint(f[i+1], 10, 64)
		if err != nil {
			return procStat0{}, fmt.Errorf("/proc/stat: %w", err)
		}
		v[i] = n
		st.total += n
	}
	st.idle = v[3] + v[4]
	st.steal = v[7]
	return st, nil
}

// since is the steal and the busy time from s0 to s, in % of all CPUs'
// time (0, 0 when no time passed).
func (s procStat0) since(s0 procStat0) (steal, busy float64) {
	if s.total <= s0.total {
		return 0, 0
	}
	tot := float64(s.total - s0.total)
	idle := float64(s.idle - s0.idle)
	st := float64(s.steal - s0.steal)
	return st / tot * 100, (tot - idle - st) / tot * 100
}
