//go:build linux

package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Idle is a daemon's idle cost, per node (node1, the holder, first) or
// averaged over its two nodes.
type Idle struct {
	Daemon, Settings string
	Duration         time.Duration
	RSSKB            int        // per node (sum of its processes), averaged
	Procs            int        // per node, averaged
	CPUPercent       [2]float64 // of each node, in % of one CPU
	PacketsPerSec    float64    // frames both nodes sent, per second
	Err              string
}

// idleSettle is how long IdleCost waits after the cluster serves before it
// measures: past initdead and a deadtime, when a node ends its start's
// one-off work (hbd drops the file pages its start read then), so that
// the figure is the cost at rest and not a share of the start's. A timing
// without a deadtime (keepalived's) settles for half a second.
func idleSettle(t Timing) time.Duration {
	return initdead(t) + t.Deadtime + 500*time.Millisecond
}

// IdleCost starts d's cluster with timing t, waits until it serves, and
// then measures for dur with the client quiet: CPU time and RSS of the
// daemon processes, and frames the nodes put on the bridge.
//
// CPU time is the time every thread of every process of the daemon spent
// on a CPU (schedstat, in ns), plus the clock ticks of its children that
// ended meanwhile: on a loaded machine it grows a little with the cache
// misses of a busy CPU, but not with the time spent waiting for one, and
// it counts what utime and stime in clock ticks would round away.
func (rn *Runner) IdleCost(ctx context.Context, d Driver, t Timing, settings string, dur time.Duration) Idle {
	r := rn.Rig
	res := Idle{Daemon: d.Key(), Settings: settings, Duration: dur}
	cl, err := d.Cluster(r, t)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer func() { _ = rn.reset(cl) }()
	if err := rn.prepare(cl); err != nil {
		res.Err = err.Error()
		return res
	}
	o, stop, err := rn.observe()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	err = rn.up(ctx, cl, t, o)
	stop()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	_ = sleepCtx(ctx, idleSettle(t))
	cpu0, err := rn.cpuTime(cl)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	pk0, err := rn.sentFrames()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	t0 := time.Now()
	if err := sleepCtx(ctx, dur); err != nil {
		res.Err = err.Error()
		return res
	}
	cpu1, err := rn.cpuTime(cl)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	pk1, err := rn.sentFrames()
	if err != nil {
		res.Err = err.Error()
		return res
	}
	el := time.Since(t0)
	for i := range 2 {
		res.CPUPercent[i], _ = nodeUse(cpu0[i], cpu1[i], el)
	}
	res.PacketsPerSec = float64(pk1-pk0) / el.Seconds()
	for i := range 2 {
		pids, err := cl.PIDs(i)
		if err != nil {
			res.Err = err.Error()
			return res
		}
		res.Procs += len(pids)
		for _, pid := range pids {
			kb, _ := rssKB(pid)
			res.RSSKB += kb
		}
	}
	res.Procs = (res.Procs + 1) / 2
	res.RSSKB /= 2
	return res
}

// cpuSample is what one daemon process has used so far.
type cpuSample struct {
	threadsNS  uint64 // its threads (schedstat), in ns
	slices     uint64 // its threads' timeslices: the times one was put on a CPU
	childTicks uint64 // its children that ended and were waited for, in clock ticks
}

// clockTick is the unit of /proc/PID/stat's times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// since is the CPU time used from s0 to s, in ns.
func (s cpuSample) since(s0 cpuSample) uint64 {
	var ns uint64
	if s.threadsNS >= s0.threadsNS {
		ns += s.threadsNS - s0.threadsNS
	}
	if s.childTicks >= s0.childTicks {
		ns += (s.childTicks - s0.childTicks) * uint64(clockTick)
	}
	return ns
}

// cpuTime maps every daemon process of each node to the CPU time it used
// so far: its threads', and its children's that ended in the meantime (a
// script the daemon ran and waited for).
func (rn *Runner) cpuTime(cl Cluster) ([2]map[int]cpuSample, error) {
	var out [2]map[int]cpuSample
	for i := range 2 {
		out[i] = map[int]cpuSample{}
		pids, err := cl.PIDs(i)
		if err != nil {
			return out, err
		}
		if len(pids) == 0 {
			return out, fmt.Errorf("%s: no daemon process found", rn.Rig.Names[i])
		}
		for _, pid := range pids {
			ns, sl, err := threadsCPU(pid)
			if err != nil {
				continue
			}
			st, err := readStat(pid)
			if err != nil {
				continue
			}
			out[i][pid] = cpuSample{threadsNS: ns, slices: sl, childTicks: st.ChildTicks}
		}
	}
	return out, nil
}

// threadsCPU is the time pid's threads have spent on a CPU, in ns, and
// the timeslices they ran: the sums of the first and third fields of
// /proc/PID/task/*/schedstat (a thread that ended takes its own with it).
func threadsCPU(pid int) (ns, slices uint64, err error) {
	dir := fmt.Sprintf("/proc/%d/task", pid)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return 0, 0, err
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name(), "schedstat"))
		if err != nil {
			continue // the thread ended
		}
		t, s, err := parseSchedstat(b)
		if err != nil {
			return 0, 0, fmt.Errorf("%s/%s/schedstat: %w", dir, e.Name(), err)
		}
		ns += t
		slices += s
	}
	return ns, slices, nil
}

// parseSchedstat reads a thread's schedstat line: its time on a CPU (ns),
// its time waiting for one, and its timeslices.
func parseSchedstat(b []byte) (ns, slices uint64, err error) {
	f := strings.Fields(string(b))
	if len(f) != 3 {
		return 0, 0, fmt.Errorf("want 3 fields, got %q", b)
	}
	if ns, err = strconv.ParseUint(f[0], 10, 64); err != nil {
		return 0, 0, err
	}
	if slices, err = strconv.ParseUint(f[2], 10, 64); err != nil {
		return 0, 0, err
	}
	return ns, slices, nil
}

// sentFrames is the number of frames both nodes sent to the bridge so far
// (received by their bridge-side ports).
func (rn *Runner) sentFrames() (uint64, error) {
	r := rn.Rig
	var sum uint64
	for _, h := range r.Nodes {
		for _, ifc := range h.Ifaces() {
			n, err := portCounter(r, ifc.Port, "rx_packets")
			if err != nil {
				return 0, err
			}
			sum += n
		}
	}
	return sum, nil
}

// portCounter reads a statistics counter of a bridge port (in the lab's
// switch namespace).
func portCounter(r *Rig, port, counter string) (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// ip netns exec mounts a /sys that shows the namespace's links.
	out, err := exec.CommandContext(ctx, "ip", "netns", "exec", r.Lab.SwitchNS(), "cat", "/sys/class/net/"+port+"/statistics/"+counter).Output()
	if err != nil {
		return 0, fmt.Errorf("read %s %s: %w", port, counter, err)
	}
	return strconv.ParseUint(strings.TrimSpace(string(out)), 10, 64)
}
