package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Clock faults on one node (RandomClockConfig), with the two clocks a
// daemon reads kept apart as they are on a real machine:
//
//   - A leap of the monotonic clock, which the core's timers read: the
//     node's time jumps ahead by [PauseMin, PauseMax] at once while the
//     world's does not (a hypervisor that makes up for stolen time, a
//     paravirtual clock corrected). Unlike a pause nothing is missed: no
//     backlog, the peers hear the node throughout. To the core the leap
//     is a late tick: past a keepalive it is a stall, and nobody is
//     declared dead within the stall grace; a shorter leap makes every
//     peer look that much longer silent, which deadtime covers.
//   - A step of the wall clock (an NTP step, `date -s`): only the ts of
//     the messages reads it. The node's wall clock goes ahead or behind by
//     up to twice cluster.MaxClockSkew, and is set right after [DownMin,
//     DownMax]. A receiver whose wall clock leads a sender's by more than
//     deadtime + MaxClockSkew + TimestampResolution drops its messages as
//     stale: it stops hearing the sender, which still hears it — a one-way
//     cut, with that cut's promises (faults.go, docs/split-brain.md). A
//     smaller difference changes nothing. One node of a run has its wall
//     clock stepped, the others keep the right time.
//
// CheckClock holds the core to exactly that: a message is dropped as
// stale if and only if the sender's wall clock lags the receiver's by
// more than the core's bound (judged with a margin of a minute on either
// side, so that the delay and ts's whole seconds do not matter).

// Clock event kinds (beyond those of sim.go and faults.go).
const (
	evLeap kind = 201 + iota
	evWallStep
	evWallFix
)

// CheckClock: see the top of clocks.go.
const CheckClock = "clock"

// clockMargin: wall clock differences within this of the stale bound are
// never drawn (the delay and ts's whole seconds would decide).
const clockMargin = time.Minute

// setupClocks schedules the run's leaps and wall clock steps (none: no
// random number is drawn).
func (w *world) setupClocks(last time.Duration) {
	c := w.c
	for k := 0; k < c.ClockJumps; k++ {
		at := Epoch.Add(w.randDur(c.Initdead, last))
		w.push(&event{at: at, kind: evLeap, node: w.rng.IntN(c.Nodes), dur: w.randDur(c.PauseMin, c.PauseMax)})
	}
	if c.WallJumps == 0 {
		return
	}
	bound := c.widest().Deadtime + cluster.MaxClockSkew + cluster.TimestampResolution
	// One node's wall clock is stepped (each step replaces the one before;
	// a fix sets it right): the difference between two nodes' wall clocks
	// is then one step, never two that add up to near the bound.
	i := w.rng.IntN(c.Nodes)
	for k := 0; k < c.WallJumps; k++ {
		at := Epoch.Add(w.randDur(c.Initdead, last))
		// Half of the steps stay well within the bound, half go well
		// beyond it; either way ahead or behind.
		step := w.randDur(time.Second, bound-clockMargin)
		if w.rng.IntN(2) == 0 {
			step = w.randDur(bound+clockMargin, 2*bound)
		}
		if w.rng.IntN(2) == 0 {
			step = -step
		}
		w.push(&event{at: at, kind: evWallStep, node: i, dur: step})
		w.push(&event{at: at.Add(w.randDur(c.DownMin, c.DownMax)), kind: evWallFix, node: i})
	}
}

func (w *world) clockEvent(e *event) {
	n := w.nodes[e.node]
	switch e.kind {
	case evLeap:
		if !n.alive || w.paused(e.node) {
			return
		}
		w.disrupted()
		n.skew += e.dur
		n.leapt += e.dur
		n.resumedAt = w.now
		w.res.Leaps++
		w.trace("%s#%d clock leaps %s ahead", n.name, n.run, fmtDur(e.dur))
		w.step(e.node, cluster.Tick{Now: w.clock(e.node), Load: "0.00 0.00 0.00 1/100 1"}, func() string { return "leap: tick" })
	case evWallStep:
		w.disrupted()
		n.wall = e.dur
		w.res.WallSteps++
		w.trace("%s wall clock stepped by %s", n.name, fmtSigned(e.dur))
	case evWallFix:
		w.disrupted()
		n.wall = 0
		w.trace("%s wall clock set right", n.name)
	}
}

// wallView is the message e carries as node e.node's core must read it
// when the wall clocks differ from the cores' clocks: its ts shifted so
// that the receiver's core, comparing it with its own clock, sees the age
// the two wall clocks give it. stale says whether that age is beyond the
// core's bound. Without clock faults the message is e's, untouched.
func (w *world) wallView(e *event) (m *wire.Message, stale bool) {
	if w.c.ClockJumps+w.c.WallJumps == 0 {
		return e.msg, false
	}
	ts, err := wire.ParseHex(e.msg.Value(wire.FTimestamp))
	if err != nil || ts == 0 {
		return e.msg, false // (the core drops it as malformed)
	}
	x, y := w.nodes[e.node], w.nodes[e.from]
	// The sender's core wrote its own clock (the world's + its skew) in
	// ts; its wall clock is the world's + y.wall.
	shift := (y.wall - y.skew) - (x.wall - x.skew)
	sent := time.Unix(int64(ts), 0).Add(shift)
	m = &wire.Message{Fields: slices.Clone(e.msg.Fields)}
	m.Set(wire.FTimestamp, wire.UnixHex(sent))
	bound := w.c.widest().Deadtime + cluster.MaxClockSkew + cluster.TimestampResolution
	return m, x.wall-y.wall > bound
}

// staleDrops is how many messages core dropped as stale so far.
func staleDrops(core *cluster.Node) uint64 {
	return core.Drops(cluster.DropStaleTimestamp)
}

// checkStale is CheckClock for one delivery: dropped is whether the core
// logged the message as stale.
func (w *world) checkStale(e *event, stale, dropped bool) {
	if stale {
		w.res.StaleDrops++
	}
	if stale != dropped {
		x, y := w.nodes[e.node], w.nodes[e.from]
		w.violate(CheckClock, fmt.Sprintf("%s's wall clock is %s ahead of %s's: the message was dropped as stale: %v, want %v", x.name, fmtSigned(x.wall-y.wall), y.name, dropped, stale))
	}
}

// fmtSigned is fmtDur with a sign.
func fmtSigned(d time.Duration) string {
	if d < 0 {
		return "-" + fmtDur(-d)
	}
	return "+" + fmtDur(d)
}

// RandomClockConfig is a run of the safe, exclusive, monitor or quorum
// generators (one in four each) with one to three leaps of a node's
// monotonic clock and one or two steps of a node's wall clock (see the top
// of clocks.go), besides one-way cuts, link cuts and pauses (faults.go).
// Exclusive keeps its zero tolerance with fencing (profile safe): a node
// is off before anyone takes its groups, whatever it heard. Without
// fencing, quorum included, it takes the weaker form of faults.go: a
// one-way cut (or a wall clock far ahead) can leave a group on both sides,
// as docs/split-brain.md says. Its own stream of random numbers leaves
// the other generators' runs as they are.
func RandomClockConfig(seed uint64) Config {
	r := rand.New(rand.NewPCG(seed, 0xc10c))
	gens := []func(uint64) Config{RandomSafeConfig, RandomExclusiveConfig, RandomMonitorConfig, RandomQuorumConfig}
	c := gens[r.IntN(len(gens))](seed)
	c.Links = 1 + r.IntN(2)
	c.OneWayCuts = r.IntN(2)
	c.LinkCuts = r.IntN(2)
	c.Pauses = r.IntN(2)
	c.ClockJumps = 1 + r.IntN(3)
	c.WallJumps = 1 + r.IntN(2)
	c.PauseMin = c.Keepalive / 4
	c.PauseMax = 3 * c.Deadtime
	c.Duration = max(c.Duration, c.QuietAfter+max(3*c.DownMax, c.PauseMax)+c.Settle()+c.Keepalive)
	return c
}
