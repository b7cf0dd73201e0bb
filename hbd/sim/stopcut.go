package sim

import (
	"math/rand/v2"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// Graceful stops cut off (Config.StopCuts): a stop gives the groups up
// one at a time, so a partition may cut the node off in the middle of
// it, still running groups its last announcement lists. With quorum the
// majority must not start them before the node, cut off, notices it lost
// the majority and has stopped them (Exclusive with zero tolerance, as in
// RandomQuorumConfig); without it, the duplicate ends within the heal
// bound.

// evStopCut: the node running the most groups stops, and is cut off.
const evStopCut kind = 400

// setupStopCuts schedules the run's stop cuts (none: no random number is
// drawn).
func (w *world) setupStopCuts(last time.Duration) {
	for k := 0; k < w.c.StopCuts; k++ {
		w.push(&event{at: Epoch.Add(w.randDur(w.c.Initdead, last)), kind: evStopCut})
	}
}

// stopCut stops the live node running the most groups (the first of
// them in node order) and schedules the partition that cuts it off
// within half a deadtime, and its heal.
func (w *world) stopCut() {
	i, most := -1, 0
	for k, n := range w.nodes {
		if !n.alive || n.exiting {
			continue
		}
		up := 0
		for _, t := range n.gt {
			if t.up {
				up++
			}
		}
		if up > most {
			i, most = k, up
		}
	}
	if i < 0 {
		return
	}
	side := make([]bool, w.c.Nodes)
	side[i] = true
	at := w.now.Add(w.randDur(0, w.c.Deadtime/2))
	w.push(&event{at: at, kind: evPartition, part: side})
	w.push(&event{at: at.Add(w.randDur(w.c.DownMin, w.c.DownMax)), kind: evHeal})
	n := w.nodes[i]
	w.disrupted()
	n.exiting = true
	w.step(i, cluster.Stop{Now: w.clock(i)}, func() string { return "stop (then cut off)" })
}

// RandomStopCutConfig is RandomQuorumConfig with three or four groups
// and one to three stop cuts besides its crashes and partitions. Scripts
// take a quarter to a third of a deadtime: a stop of three groups
// outlasts a deadtime, a single script stays within quorum's bound.
func RandomStopCutConfig(seed uint64) Config {
	c := RandomQuorumConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0x5c07))
	c.Groups = 3 + r.IntN(2)
	c.StopCuts = 1 + r.IntN(3)
	c.ScriptMin, c.ScriptMax = c.Deadtime/4, c.Deadtime/3
	c.Duration = c.QuietAfter + c.DownMax + c.Settle() + c.Keepalive
	return c
}
