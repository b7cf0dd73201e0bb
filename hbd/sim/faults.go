package sim

import (
	"math/rand/v2"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// Faults beyond symmetric partitions and crashes (RandomFaultConfig):
//
//   - A one-way cut: node B stops hearing node A on every link while A
//     still hears B (a firewall rule, a broken transmit path). B declares
//     A dead and may take A's groups while A, which hears B, keeps them.
//   - A link cut: one medium fails between two nodes, both ways, while
//     the other media still carry their packets.
//   - A pause: a node's daemon stops (SIGSTOP, a VM stall, CPU
//     starvation) for a while: its clock and its inbox stop, the scripts
//     it started go on. When it resumes, its late Tick comes first and
//     then the backlog of packets, operation results and commands, all
//     read at the time of the resume (a daemon timestamps what it reads).
//   - A suspend (a VM suspended, migrated or frozen): the whole machine
//     stops, scripts included; packets sent to it meanwhile are lost;
//     and its monotonic clock, which is what hbd's timers read, does not
//     count the time. When it resumes its clock goes on from where it
//     stood: to the node nothing happened (no stall is seen), but its
//     peers have declared it dead and taken its groups.
//
// What still holds, and is checked: Ordered, CheckSpec, CheckProgress,
// CheckRestartSeen (not while the observer is paused), Available and
// Preferred at the end of quiet runs, and Exclusive in its weaker form:
// two nodes that hear each other never both hold a group, and a duplicate
// that began while one of them could not hear the other (a one-way cut, a
// pause long enough to be declared dead) ends within HealBound after they
// hear each other again. Without fencing no stronger promise can hold: a
// node that is not heard cannot be stopped (docs/split-brain.md).
// CheckDeadInTime is weaker for a node that was paused: it declares
// nobody dead while paused, nor within the stall grace after it resumes
// (cluster.StallGraceFactor keepalives), so its bound is the later of the
// usual one and that grace plus a keepalive; for a node that was
// suspended the bound moves by the time its clock lost.

// Fault event kinds (beyond the core list in sim.go).
const (
	evCut kind = 101 + iota
	evUncut
	evPause
	evResume
	evSuspend
)

// calm: no fault that may get a live node declared dead (CheckCalm); a
// node removed from the configuration stops. Link cuts of the first of
// several links only (CutFirstLinkOnly) leave every node heard on the
// others.
func (c Config) calm() bool {
	cuts := c.LinkCuts == 0 || c.CutFirstLinkOnly && c.Links > 1
	return c.Crashes == 0 && c.FloodDeaths == 0 && c.Partitions == 0 && c.OneWayCuts == 0 && cuts && c.Pauses == 0 && c.Suspends == 0 && c.ClockJumps == 0 && c.WallJumps == 0 && c.NodeChanges == 0 && c.MarkEpisodes == 0 && c.StopCuts == 0
}

// strictExclusive: the two sides of a partition never both hold a group
// (CheckExclusive's zero tolerance). Fencing (profile safe) promises it
// under every fault: a node is off before its groups start elsewhere.
// Quorum promises it only for clean partitions with clocks that keep
// time: a one-way or single-link cut can give both sides a majority, and
// its wait after a death is a time that a pause or a clock leap cuts short.
// The short one-way cuts of stale-mark episodes (stalemark.go) keep it.
func (c Config) strictExclusive() bool {
	if c.Safe {
		return true
	}
	return c.Quorum.Enabled(c.Nodes) && c.OneWayCuts+c.LinkCuts+c.Pauses+c.Suspends+c.ClockJumps+c.WallJumps == 0
}

// setupFaults schedules the run's one-way cuts, link cuts and pauses
// (none: no random number is drawn). A cut event names its ends in node
// and from, and its link in link ("": a one-way cut, every link).
func (w *world) setupFaults(last time.Duration) {
	c := w.c
	if c.OneWayCuts+c.LinkCuts+c.Pauses+c.Suspends+c.ClockJumps+c.WallJumps == 0 {
		return
	}
	pair := func() (int, int) {
		a := w.rng.IntN(c.Nodes)
		return a, (a + 1 + w.rng.IntN(c.Nodes-1)) % c.Nodes
	}
	for k := 0; k < c.OneWayCuts+c.LinkCuts; k++ {
		a, b := pair()
		link := ""
		if k >= c.OneWayCuts {
			link = w.net.Links()[w.rng.IntN(len(w.net.Links()))]
			if c.CutFirstLinkOnly {
				link = w.net.Links()[0]
			}
		}
		at := Epoch.Add(w.randDur(c.Initdead, last))
		w.push(&event{at: at, kind: evCut, node: a, from: b, link: link})
		w.push(&event{at: at.Add(w.randDur(c.DownMin, c.DownMax)), kind: evUncut, node: a, from: b, link: link})
	}
	for k := 0; k < c.Pauses; k++ {
		at := Epoch.Add(w.randDur(c.Initdead, last))
		w.push(&event{at: at, kind: evPause, node: w.rng.IntN(c.Nodes), dur: w.randDur(c.PauseMin, c.PauseMax)})
	}
	for k := 0; k < c.Suspends; k++ {
		at := Epoch.Add(w.randDur(c.Initdead, last))
		w.push(&event{at: at, kind: evSuspend, node: w.rng.IntN(c.Nodes), dur: w.randDur(c.PauseMin, c.PauseMax)})
	}
	w.setupClocks(last)
}

func (w *world) faultEvent(e *event) {
	switch e.kind {
	case evCut, evUncut:
		w.disrupted()
		a, b := w.nodes[e.node].name, w.nodes[e.from].name
		switch {
		case e.kind == evCut && e.link == "":
			w.res.Cuts++
			w.net.CutOneWay(e.node, e.from)
			w.trace("cut %s -> %s (%s no longer hears %s)", a, b, b, a)
		case e.kind == evUncut && e.link == "":
			w.net.MendOneWay(e.node, e.from)
			w.trace("mended %s -> %s", a, b)
		case e.kind == evCut:
			w.res.Cuts++
			w.net.CutLink(e.node, e.from, e.link)
			w.trace("cut %s between %s and %s", e.link, a, b)
		default:
			w.net.MendLink(e.node, e.from, e.link)
			w.trace("mended %s between %s and %s", e.link, a, b)
		}
	case evPause, evSuspend:
		n := w.nodes[e.node]
		if !n.alive || w.paused(e.node) {
			return
		}
		w.disrupted()
		n.pausedUntil = w.now.Add(e.dur)
		n.suspended = e.kind == evSuspend
		w.trace("%s#%d %s for %s", n.name, n.run, map[bool]string{false: "paused", true: "suspended"}[n.suspended], fmtDur(e.dur))
		w.push(&event{at: n.pausedUntil, kind: evResume, node: e.node, run: n.run, dur: e.dur})
	case evResume:
		n := w.nodes[e.node]
		if !n.alive || n.run != e.run {
			return
		}
		w.disrupted()
		n.pausedUntil = time.Time{}
		if n.suspended {
			// Its clock did not count the suspend: it goes on from there,
			// and to the node no time has passed.
			n.suspended = false
			n.skew -= e.dur
			w.res.Resumes++
			w.trace("%s#%d resumed (its clock %s behind)", n.name, n.run, fmtDur(-n.skew))
			w.schedule(e.node)
			return
		}
		n.resumedAt = w.now
		w.res.Resumes++
		w.step(e.node, cluster.Tick{Now: w.clock(e.node), Load: "0.00 0.00 0.00 1/100 1"}, func() string { return "resume: tick" })
	}
}

// paused: node i's daemon is stopped now.
func (w *world) paused(i int) bool {
	n := w.nodes[i]
	return n.alive && w.now.Before(n.pausedUntil)
}

// deferPaused holds an event for a paused node until it resumes (a
// tick is dropped: the resume brings its own). It reports whether it did.
func (w *world) deferPaused(e *event) bool {
	switch e.kind {
	case evTick, evStanding, evDeliver, evCommand, evApply, evMonitor, evFence, evCrash, evStartScript:
	case evOpDone:
		if !w.paused(e.node) || !w.nodes[e.node].suspended {
			return false // a paused daemon's script ends: see deferOpDone
		}
	default:
		return false
	}
	if !w.paused(e.node) {
		return false
	}
	if e.kind == evTick || e.kind == evStanding || e.kind == evDeliver && w.nodes[e.node].suspended {
		return true // (a suspended machine loses what is sent to it)
	}
	n := w.nodes[e.node]
	later := *e
	later.at = n.pausedUntil
	if later.kind == evDeliver {
		later.run = n.run // lost if this run of the daemon dies first
	}
	w.push(&later)
	return true
}

// deferOpDone holds the report of a finished script for a paused node's
// core until it resumes; the script's effect has happened already.
func (w *world) deferOpDone(e *event) bool {
	if !w.paused(e.node) {
		return false
	}
	later := *e
	later.at = w.nodes[e.node].pausedUntil
	later.truthDone = true
	w.push(&later)
	return true
}

// stallBound extends CheckDeadInTime's bound for an observer that was
// paused: nobody is declared dead within the stall grace after its resume.
func (w *world) stallBound(x *simNode, bound time.Time, quiet time.Duration) time.Time {
	bound = bound.Add(-(x.skew - x.leapt)) // (a leap only brings a death sooner)
	if x.resumedAt.IsZero() {
		return bound
	}
	// A quiet peer's grace is StallGraceFactor of its status interval.
	grace := x.resumedAt.Add(time.Duration(cluster.StallGraceFactor+1) * max(w.c.Keepalive, quiet))
	if grace.After(bound) {
		return grace
	}
	return bound
}

// RandomSuspendConfig is RandomResourceConfig (two to four nodes) with
// one to three suspends of a machine, quorum off; the same promises as
// RandomFaultConfig's are checked.
func RandomSuspendConfig(seed uint64) Config {
	c := RandomResourceConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0x5a5))
	c.Quorum = config.QuorumOff
	c.Suspends = 1 + r.IntN(3)
	c.PauseMin = c.Keepalive
	c.PauseMax = 3 * c.Deadtime
	c.Duration = c.QuietAfter + max(c.DownMax, c.PauseMax) + c.Settle() + c.Keepalive
	return c
}

// RandomFaultConfig is RandomResourceConfig (two to four nodes, one or
// two links) with one-way cuts, link cuts and pauses besides its crashes
// and partitions, quorum off: Exclusive in its weaker form, Ordered,
// Available and Preferred (see the top of faults.go). Its own stream of
// random numbers leaves RandomResourceConfig's runs as they are.
func RandomFaultConfig(seed uint64) Config {
	c := RandomResourceConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0xfa017))
	c.Quorum = config.QuorumOff
	if c.Nodes == 2 && r.IntN(2) == 0 {
		c.Nodes = 3
	}
	c.Links = 1 + r.IntN(2)
	c.OneWayCuts = r.IntN(3)
	c.LinkCuts = r.IntN(3)
	c.Pauses = 1 + r.IntN(3)
	c.PauseMin = c.Keepalive
	c.PauseMax = 3 * c.Deadtime
	c.Duration = c.QuietAfter + max(c.DownMax, c.PauseMax) + c.Settle() + c.Keepalive
	return c
}
