package sim

import (
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// Fencing and profile safe, which close the split-brain window of a
// partition (docs/split-brain.md). With Config.Safe every node runs
// `profile safe` with a fence_command and Config.SafeStartDelay; the
// simulation plays the fencing device: a Fence takes
// [ScriptMin, ScriptMax], fails with probability FenceFail (nothing
// happens, FenceDone OK=false), else the target machine is powered off at
// once (its scripts stop with it, as a machine crash; it boots again
// after Downtime) and the requester gets FenceDone OK=true. The fence
// path does not go through the heartbeat network: it works across a
// partition. CheckExclusive then has no tolerance: the two sides of a
// partition never hold a group at once.

// evFence is a fence completing.
const evFence kind = 100

// fenceAction: node i asked to fence a.Node.
func (w *world) fenceAction(i int, a cluster.Fence) {
	n := w.nodes[i]
	target := -1
	for j, m := range w.nodes {
		if m.name == a.Node {
			target = j
		}
	}
	w.res.Fences++
	w.trace("  %s FENCE %s", n.name, a.Node)
	res := cluster.ResultOK
	if w.rng.Float64() < w.c.FenceFail {
		res = cluster.ResultFailed
	}
	w.push(&event{at: w.now.Add(w.randDur(w.c.ScriptMin, w.c.ScriptMax)), kind: evFence, node: i, run: n.run, from: target, result: res})
}

func (w *world) fenceDone(e *event) {
	n := w.nodes[e.node]
	ok := e.result == cluster.ResultOK && e.from >= 0
	if ok {
		t := w.nodes[e.from]
		w.disrupted()
		w.trace("%s fenced (by %s): powered off", t.name, n.name)
		if t.alive {
			t.boot++
			for g := range t.gt {
				t.gt[g] = truth{}
			}
			w.down(e.from)
		} else {
			// Down already (a leftover of a killed daemon still runs
			// until the machine is powered off).
			t.boot++
			for g := range t.gt {
				t.gt[g] = truth{}
			}
		}
	}
	if !n.alive || n.run != e.run {
		return
	}
	w.step(e.node, cluster.FenceDone{Now: w.clock(e.node), Node: w.nodes[e.from].name, OK: ok, Detail: "sim"}, func() string {
		return fmt.Sprintf("fence-done %s ok=%v", w.nodes[e.from].name, ok)
	})
}

// safeConfig applies Config.Safe to a node's configuration.
func (c Config) safeConfig(cfg *config.Config) {
	if !c.Safe {
		return
	}
	cfg.Profile = config.ProfileSafe
	cfg.AutoFailback = config.FailbackOff
	cfg.SafeStartDelay = c.SafeStartDelay
	cfg.Fence = config.FenceConfig{Command: []string{"/sim/fence"}, Timeout: c.ScriptMax, Retry: c.Keepalive}
}

// safeSettle is what profile safe adds to Settle: fences (retried) and
// safe_start_delay.
func (c Config) safeSettle() time.Duration {
	if !c.Safe {
		return 0
	}
	return c.SafeStartDelay + 4*c.ScriptMax + 4*c.Keepalive + c.DownMax + c.Initdead
}

// RandomSafeConfig is RandomResourceConfig with profile safe: fencing
// that sometimes fails, safe_start_delay, auto_failback off, and more
// partitions (both sides fence each other).
func RandomSafeConfig(seed uint64) Config {
	c := RandomResourceConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0x5afe))
	c.Safe = true
	c.AutoFailback = config.FailbackOff
	c.SafeStartDelay = time.Duration(r.IntN(3)) * c.Keepalive
	c.FenceFail = r.Float64() * 0.4
	c.Partitions += 1 + r.IntN(3)
	c.Quorum = config.QuorumOff
	// A fence powers a node off, and it boots again up to DownMax later:
	// the quiet end comes later than without fencing.
	c.Duration = c.QuietAfter + 3*c.DownMax + c.Settle() + c.Keepalive
	return c
}
