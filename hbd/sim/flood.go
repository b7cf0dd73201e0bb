package sim

import (
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// Floods of a routine socket (Config.Floods), as hbd/link meets them: a
// node reads each peer's routine messages on each link from a socket of
// their own, at its wake-ups (routine.go). A burst of datagrams forged
// with the peer's address and marked routine fills that socket: from the
// burst on, the kernel drops the peer's routine messages on that link
// until the node next reads it. That read finds the flood: the node's
// core gets cluster.RoutineFlood naming the link before what the read
// gave, and the socket goes into flood mode, read at once (a routine
// message of the peer on that link is delivered as it arrives, and drops
// nothing) until floodQuietFor after the last burst, at the node's first
// read from then on. A burst in flood mode drops nothing and lengthens
// it. A node that restarts has new sockets.
//
// What is checked: CheckCalm on calm runs (RandomFloodCalmConfig: no
// node is declared dead, whatever the floods drop); CheckDeadInTime, its
// bound moved by the grace the core may give (at most one deadtime, as
// scaled for a quiet peer, after the first flood found since the peer
// was last heard: floodBound); and the resource checks of the runs they
// are drawn from.

const (
	evFloodBurst kind = 500
	// floodQuietFor is how long after the last burst a socket stays in
	// flood mode (hbd/link's quietFor).
	floodQuietFor = 5 * time.Second
)

// floodSock is the flood state of one routine socket: node's, for the
// messages of peer on link.
type floodSock struct {
	run int // the node's run it belongs to: a restart opens new sockets
	// full: a burst filled it at fullSince, not read since.
	full      bool
	fullSince time.Time
	// mode: read at once until the first read at or after modeUntil.
	mode      bool
	modeUntil time.Time
}

type floodKey struct {
	node, peer int
	link       string
}

// floodState is a run's floods: the sockets, and when and on which link
// each node's current run found a flood (for CheckDeadInTime).
type floodState struct {
	socks map[floodKey]*floodSock
	found [][]floodFound // by node, in order
	runs  []int          // the run found belongs to
}

type floodFound struct {
	at   time.Time
	link int // index in the network's links
}

// setupFloods schedules the run's bursts (none: no random number is
// drawn): Floods episodes, each of one to six bursts at one node's socket
// for one peer on one link, the bursts a keepalive to three deadtimes
// apart.
func (w *world) setupFloods(last time.Duration) {
	c := w.c
	if c.Floods+c.FloodDeaths == 0 || c.Nodes < 2 || c.Links == 0 {
		return
	}
	w.fl = &floodState{socks: map[floodKey]*floodSock{}, found: make([][]floodFound, c.Nodes), runs: make([]int, c.Nodes)}
	for range c.Floods {
		node := w.rng.IntN(c.Nodes)
		peer := (node + 1 + w.rng.IntN(c.Nodes-1)) % c.Nodes
		link := w.net.Links()[w.rng.IntN(c.Links)]
		at := Epoch.Add(w.randDur(c.Initdead, last))
		for range 1 + w.rng.IntN(6) {
			w.push(&event{at: at, kind: evFloodBurst, node: node, from: peer, link: link})
			at = at.Add(w.randDur(c.Keepalive, 3*c.Deadtime))
		}
	}
	if c.Links < 2 {
		return
	}
	// A death behind a flood on a link of the dead node's that was dead
	// already: its peer's grace, if it gave one, would come too late
	// (floodBound). The cut outlasts the window floodBound allows.
	for range c.FloodDeaths {
		node := w.rng.IntN(c.Nodes)
		peer := (node + 1 + w.rng.IntN(c.Nodes-1)) % c.Nodes
		link := w.net.Links()[w.rng.IntN(c.Links)]
		cut := Epoch.Add(w.randDur(c.Initdead, last))
		crash := cut.Add(c.Deadtime + (cluster.QuietFactor+2)*c.Keepalive + w.randDur(0, c.Deadtime))
		w.push(&event{at: cut, kind: evCut, node: node, from: peer, link: link})
		w.push(&event{at: crash, kind: evCrash, node: peer})
		w.push(&event{at: crash.Add(c.Keepalive + w.randDur(0, c.Keepalive/2)), kind: evFloodBurst, node: node, from: peer, link: link})
		w.push(&event{at: crash.Add(2 * c.Deadtime), kind: evUncut, node: node, from: peer, link: link})
	}
}

func (w *world) floodSock(node, peer int, link string) *floodSock {
	k := floodKey{node, peer, link}
	s := w.fl.socks[k]
	if s == nil || s.run != w.nodes[node].run {
		s = &floodSock{run: w.nodes[node].run}
		w.fl.socks[k] = s
	}
	return s
}

// floodBurst: a burst lands at e.node's socket for e.from on e.link.
func (w *world) floodBurst(e *event) {
	x := w.nodes[e.node]
	if !x.alive || x.suspended {
		return
	}
	w.res.FloodBursts++
	s := w.floodSock(e.node, e.from, e.link)
	if s.mode {
		s.modeUntil = w.now.Add(floodQuietFor)
		w.trace("flood burst at %s for %s on %s: read at once", x.name, w.nodes[e.from].name, e.link)
		return
	}
	if !s.full {
		s.full, s.fullSince = true, w.now
	}
	s.modeUntil = w.now.Add(floodQuietFor)
	w.trace("flood burst at %s for %s on %s: the socket is full", x.name, w.nodes[e.from].name, e.link)
}

// floodRoute says what becomes of e, a routine message arriving at its
// receiver: dropped by the kernel (its socket is full), or delivered at
// once (flood mode), or neither (it waits for the next read).
func (w *world) floodRoute(e *event) (drop, now bool) {
	if w.fl == nil {
		return false, false
	}
	s := w.fl.socks[floodKey{e.node, e.from, e.link}]
	if s == nil || s.run != w.nodes[e.node].run {
		return false, false
	}
	if s.full {
		w.res.FloodDrops++
		w.trace("  %s: flood drops %s on %s from %s", w.nodes[e.node].name, summary(e.msg), e.link, w.nodes[e.from].name)
		return true, false
	}
	return false, s.mode
}

// floodsRead is what node i's read finds of its sockets now: the links
// of the full ones, which go into flood mode (nil: none); and the flood
// modes that are over end.
func (w *world) floodsRead(i int) []string {
	if w.fl == nil {
		return nil
	}
	var links []string
	x := w.nodes[i]
	if w.fl.runs[i] != x.run {
		w.fl.found[i], w.fl.runs[i] = nil, x.run
	}
	for k, l := range w.net.Links() {
		for p := range w.nodes {
			s := w.fl.socks[floodKey{i, p, l}]
			if s == nil || s.run != w.nodes[i].run {
				continue
			}
			switch {
			case s.full:
				s.full, s.mode = false, true
				if !slices.Contains(links, l) {
					links = append(links, l)
					w.fl.found[i] = append(w.fl.found[i], floodFound{w.now, k})
				}
			case s.mode && !w.now.Before(s.modeUntil):
				s.mode = false
			}
		}
	}
	if len(links) > 0 {
		w.res.FloodsFound++
	}
	return links
}

// stepFlood gives node i's core the floods its read found, before what
// the read gave.
func (w *world) stepFlood(i int, links []string) {
	if w.hooks.floodUntold {
		return
	}
	w.step(i, cluster.RoutineFlood{Now: w.clock(i), Links: links}, func() string { return "routine flood on " + strings.Join(links, ",") })
}

// floodBound is CheckDeadInTime's bound for x's peer y, bound without
// floods, d its deadtime as the check scales it: a deadtime and a
// keepalive after the first flood x found since it last heard y, on a
// link it heard y on lately (within d and S, the longest status interval
// of a quiet peer, and a keepalive: its link there was up). A flood on a
// link x has not heard y on for longer gives no grace: the core that
// gave one would be late.
func (w *world) floodBound(xi, yi int, bound time.Time, d time.Duration) time.Time {
	if w.fl == nil || w.fl.runs[xi] != w.nodes[xi].run {
		return bound
	}
	v := &w.views[xi][yi]
	ka := w.c.widest().Keepalive
	for _, f := range w.fl.found[xi] {
		if !f.at.After(v.lastSeq) || f.link >= len(v.onLink) {
			continue
		}
		if h := v.onLink[f.link]; !h.IsZero() && f.at.Sub(h) <= d+(cluster.QuietFactor+1)*ka {
			return later(bound, f.at.Add(d+ka))
		}
	}
	return bound
}

// RandomFloodCalmConfig is RandomQuietPassiveConfig (a calm run of two
// nodes, the one holding nothing quiet, routine messages read as the
// daemon reads them) with one to four flood episodes (Config.Floods) at
// either node, on one or two links: no node may ever be declared dead
// (CheckCalm), whatever the floods make the kernel drop.
func RandomFloodCalmConfig(seed uint64) Config {
	c := RandomQuietPassiveConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0xf100d))
	c.Floods = 1 + r.IntN(4)
	return c
}

// RandomFloodCutConfig is RandomFloodCalmConfig on two links, the first
// of which is cut between the nodes one to three times (for one to
// three deadtimes each), so that a flood may land on a dead link while
// the peer's statuses come on the other: still no node may be declared
// dead (CheckCalm: the cuts leave the second link).
func RandomFloodCutConfig(seed uint64) Config {
	c := RandomFloodCalmConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0xc0f100d))
	c.Links, c.CutFirstLinkOnly = 2, true
	c.LinkCuts = 1 + r.IntN(3)
	c.DownMin, c.DownMax = c.Deadtime, 3*c.Deadtime
	return c
}

// RandomFloodConfig is RandomResourceConfig (crashes, partitions, two
// to four nodes) with routine messages read as the daemon reads them and
// one to four flood episodes: a dead peer is declared dead in time
// (CheckDeadInTime, with the flood's grace), and the resource checks.
func RandomFloodConfig(seed uint64) Config {
	c := RandomResourceConfig(seed)
	r := rand.New(rand.NewPCG(seed, 0xf100d))
	c.RoutineReads = true
	c.Floods = 1 + r.IntN(4)
	if r.IntN(2) == 0 {
		c.Links, c.FloodDeaths = 2, 1+r.IntN(2)
	}
	return c
}
