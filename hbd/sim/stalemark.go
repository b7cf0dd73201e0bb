package sim

import (
	"math/rand/v2"
	"slices"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// Stale dead marks (RandomStaleMarkConfig): episodes of one-way cuts
// around one node H, timed around deadtime, each cut starting a little
// after the one before (staggered by up to a keepalive):
//
//   - H stops being heard by a set F of the other nodes (every other
//     node; with five nodes, in a third of the episodes, two of the four),
//     so they declare H dead and tell the rest;
//   - about a deadtime later some nodes R of F hear H again, and each of
//     them stops being heard by some of the nodes of F that still do not
//     hear H: those keep the mark "H is dead" of R's last status they
//     read, while R has withdrawn it and hears H;
//   - in a third of the episodes H may start a group only from the
//     middle of the episode on (it is disabled before and enabled on H
//     just after the first cut), the nodes of F that do not hear H again
//     stop hearing it a little later than the others, and H stops hearing
//     each of them just before that node declares H dead, keeping its
//     last consent; R hears H again once they did. So H starts the group
//     with R's consent while the others still read R's mark;
//   - otherwise, in half of the episodes, one node of F that does not hear
//     H again is not heard by H either, from up to a deadtime before the
//     episode (H then needs nobody's consent there); in a third of all
//     episodes a monitor gives up a group on a node of the episode while
//     the cuts change, so that a group may move in the middle of it.
//
// This is the shape in which acknowledgement-based leases went wrong
// (hbd/cluster's TestQuorumStaleDeadMark, and TestQuorumStaleMarkBeforeHolding
// for the third case): a node that the holder counts on has said the
// holder was dead, and a third node still reads that.
//
// Every cut of an episode lasts at most one and a half deadtimes
// (markCutHalves), and the next episode begins a deadtime after the last cut
// of the one before ended: no node misses another's statuses for longer
// than that plus the loss that deadtime covers (under two and a half
// deadtimes). Quorum without fencing starts a silent holder's groups only
// after it was silent for three (a deadtime to declare it dead, two more
// waited: hbd/cluster/quorum.go), so Exclusive keeps its zero tolerance
// in these runs (strictExclusive) though its cuts are one-way.

// markCutHalves is the longest a cut of a stale-mark episode lasts, in
// half deadtimes.
const markCutHalves = 3

// markEpisodeSpan is how long an episode lasts at most, from its first
// cut to its last heal: the lead cut (up to a deadtime earlier), the
// staggering and the cuts themselves.
func (c Config) markEpisodeSpan() time.Duration {
	return c.Deadtime + c.Keepalive + c.Deadtime*markCutHalves/2 + c.Deadtime*3/2 + c.Keepalive
}

// setupMarkEpisodes schedules the run's stale-mark episodes one after
// the other from initdead on (none: no random number is drawn).
func (w *world) setupMarkEpisodes() {
	c := w.c
	at := Epoch.Add(c.Initdead + c.Deadtime)
	for k := 0; k < c.MarkEpisodes; k++ {
		at = at.Add(w.randDur(0, 2*c.Deadtime))
		w.markEpisode(at.Add(c.Deadtime)) // (room for the lead cut)
		at = at.Add(c.markEpisodeSpan() + c.Deadtime)
	}
}

// markEpisode schedules one episode around a random node whose first
// cut starts at t0.
func (w *world) markEpisode(t0 time.Time) {
	c := w.c
	nn := c.Nodes
	ka, dt := c.Keepalive, c.Deadtime
	maxCut := dt * markCutHalves / 2
	cut := func(from, to int, at time.Time, d time.Duration) {
		d = min(d, maxCut)
		w.push(&event{at: at, kind: evCut, node: from, from: to})
		w.push(&event{at: at.Add(d), kind: evUncut, node: from, from: to})
	}
	h := w.rng.IntN(nn)
	others := make([]int, 0, nn-1)
	for i := range nn {
		if i != h {
			others = append(others, i)
		}
	}
	w.rng.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	// F: the first f of others stop hearing H.
	f := nn - 1
	if nn > 3 && w.rng.IntN(3) == 0 {
		f = nn / 2
	}
	far := others[:f]
	// R: the first r of F hear H again about a deadtime later.
	r := 1 + w.rng.IntN(max(1, f-1))
	back, still := far[:r], far[r:]
	// In a third of the episodes H may start a group only once the nodes
	// of F are cut off: the group, preferred by H, is disabled before
	// and enabled on H just after the first cut, so a node of R has
	// declared H dead before it could consent; those of F that still miss
	// H stop hearing it a little later, and H stops hearing each of them
	// just before it declares H dead (H keeps its last consent), and the
	// nodes of R hear H again once they did.
	consent := c.Groups > 0 && len(still) > 0 && w.rng.IntN(3) == 0
	if consent {
		g := w.rng.IntN(c.Groups)
		for k, p := range w.rs.prefs {
			if p == h && k < c.Groups {
				g = k
				break
			}
		}
		key := w.rs.keys[g]
		w.push(&event{at: t0.Add(-dt / 2), kind: evCommand, node: h, cmd: cluster.Command{Kind: cluster.CmdGroupDisable, Which: key}})
		w.push(&event{at: t0.Add(w.randDur(0, dt/20)), kind: evCommand, node: h, cmd: cluster.Command{Kind: cluster.CmdGroupEnable, Which: key}})
	}
	cutAt := make(map[int]time.Time, f)
	lastDeath := t0.Add(dt)
	for _, x := range far {
		at := t0.Add(w.randDur(0, ka))
		if consent && !slices.Contains(back, x) {
			at = t0.Add(w.randDur(dt/30, dt/10))
			// H stops hearing x just before x declares H dead.
			cut(x, h, at.Add(dt-w.randDur(0, dt/15)), w.randDur(dt/3, dt))
			lastDeath = later(lastDeath, at.Add(dt))
		}
		cutAt[x] = at
		if slices.Contains(back, x) {
			continue // its heal is timed below
		}
		cut(h, x, at, w.randDur(maxCut*5/6, maxCut))
	}
	for _, m := range back {
		// H heard again by m: around the time m declares it dead (after
		// the others did, with consent).
		heal := t0.Add(dt + w.randDur(-dt/8, dt/3))
		if consent {
			heal = lastDeath.Add(w.randDur(0, dt/5))
		}
		cut(h, m, cutAt[m], max(heal.Sub(cutAt[m]), ka))
		// m no longer heard by some of those that still miss H, from
		// about the time its mark reached them.
		for _, x := range still {
			if w.rng.IntN(4) == 0 {
				continue
			}
			cut(m, x, heal.Add(w.randDur(-dt/8, dt/8)), w.randDur(dt/2, dt))
		}
	}
	if !consent && len(still) > 0 && w.rng.IntN(2) == 0 {
		// One that misses H is not heard by H either, from before.
		x := still[w.rng.IntN(len(still))]
		cut(x, h, t0.Add(-w.randDur(0, dt)), w.randDur(dt, maxCut))
	}
	if c.Groups > 0 && w.rng.IntN(3) == 0 {
		// A group given up while the cuts change.
		nodes := append([]int{h}, far...)
		w.push(&event{at: t0.Add(dt + w.randDur(-dt/8, dt/3)), kind: evMonitor, node: nodes[w.rng.IntN(len(nodes))], group: w.rng.IntN(c.Groups)})
	}
}

// RandomStaleMarkConfig is RandomQuorumConfig (three or five nodes,
// quorum, one link) with stale-mark episodes (one to four) in place of
// its crashes and partitions; its commands and failing scripts stay, and
// one settings command is added.
// Exclusive is checked with zero tolerance (see the top of this file).
// Its own stream of random numbers leaves the rest of the run as
// RandomQuorumConfig draws it.
func RandomStaleMarkConfig(seed uint64) Config {
	c := RandomQuorumConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0x57a1e))
	c.Links = 1
	c.Crashes, c.Partitions = 0, 0
	c.MarkEpisodes = 1 + r.IntN(4)
	// (an episode may disable and enable a group: the checks then read
	// the operator settings, as with settings commands)
	c.SettingsCommands = 1
	// Keepalives of a sixth to a twelfth of the deadtime: a node hears
	// another again, and says so, well within a deadtime.
	ratio := 6 + r.IntN(7)
	c.Keepalive = c.Deadtime / time.Duration(ratio)
	c.Warntime = c.Deadtime * 2 / 3
	c.MaxLostInARow = ratio - 2
	c.DelayMax = c.DelayMin + min(c.DelayMax-c.DelayMin, c.Keepalive/4)
	span := c.Initdead + c.Deadtime + time.Duration(c.MarkEpisodes)*(4*c.Deadtime+c.markEpisodeSpan())
	c.QuietAfter = max(c.QuietAfter, span)
	c.Duration = c.QuietAfter + c.Settle() + c.Keepalive
	return c
}
