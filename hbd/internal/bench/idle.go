//go:build linux

package bench

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc (100 on
// Linux everywhere that matters).
const clockTicks = 100

// Idle is a daemon's idle cost, averaged over its two nodes.
type Idle struct {
	Daemon, Settings string
	Duration         time.Duration
	RSSKB            int     // per node (sum of its processes)
	Procs            int     // per node
	CPUPercent       float64 // per node, of one CPU
	PacketsPerSec    float64 // frames both nodes sent, per second
	Err              string
}

// IdleCost starts d's cluster with timing t, waits until it serves, and
// then measures for dur with the client quiet: CPU time and RSS of the
// daemon processes, and frames the nodes put on the bridge.
func (rn *Runner) IdleCost(ctx context.Context, d Driver, t Timing, settings string, dur time.Duration) Idle {
	r := rn.Rig
	res := Idle{Daemon: d.Key(), Settings: settings, Duration: dur}
	cl, err := d.Cluster(r, t)
	if err != nil {
		res.Err = err.Error()
		return res
	}
	defer func() { _ = rn.reset(cl) }()
	if err := rn.reset(cl); err != nil {
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
	_ = sleepCtx(ctx, 500*time.Millisecond)
	ticks0, err := rn.ticks(cl)
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
	ticks1, err := rn.ticks(cl)
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
	var cpu uint64
	for pid, t1 := range ticks1 {
		if t0, ok := ticks0[pid]; ok && t1 >= t0 {
			cpu += t1 - t0
		}
	}
	res.CPUPercent = float64(cpu) / clockTicks / el.Seconds() * 100 / 2
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

// ticks maps every daemon process of both nodes to its CPU ticks.
func (rn *Runner) ticks(cl Cluster) (map[int]uint64, error) {
	out := map[int]uint64{}
	for i := range 2 {
		pids, err := cl.PIDs(i)
		if err != nil {
			return nil, err
		}
		if len(pids) == 0 {
			return nil, fmt.Errorf("%s: no daemon process found", rn.Rig.Names[i])
		}
		for _, pid := range pids {
			if st, err := readStat(pid); err == nil {
				out[pid] = st.CPUTicks
			}
		}
	}
	return out, nil
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
