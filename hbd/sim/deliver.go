// The simulated network seen from the nodes: sending a Send action through
// the loss model, and delivering what arrives to a core (with the codec).
package sim

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/wire"
)

// send carries a copy of s's message: the core reuses the message once
// its Step is done (Recycle).
func (w *world) send(from int, s *cluster.Send) {
	src := w.nodes[from]
	// Only fresh status messages count for the loss bound: a resent one
	// (an old seq) does not tell the receiver anything new.
	isStatus := false
	if s.Msg.Value("t") == "status" {
		if seq, _ := s.Msg.HexValue("seq"); seq > w.statusHigh[from] {
			w.statusHigh[from] = seq
			isStatus = true
		}
	}
	w.checkSeqStream(from, s.Msg)
	sent := s.Msg.Clone()
	w.net.Send(from, s.Link, lossModel{w: w, isStatus: isStatus}, func(to int, link string, after time.Duration) {
		m, err := w.carry(sent)
		if err != nil {
			w.violate(CheckNoPanic, "codec: "+err.Error())
			return
		}
		w.push(&event{at: w.now.Add(after), kind: evDeliver, node: to, from: from, frun: src.run, link: link, msg: m, routine: s.Routine})
	})
}

// lossModel is the network of Config: each copy on each link is lost with
// probability Loss, except that a fresh status message gets through on a
// random link after MaxLostInARow lost in a row; a copy that arrives is
// duplicated with probability Dup; each takes DelayMin..DelayMax.
type lossModel struct {
	w        *world
	isStatus bool // a fresh status message: it counts for MaxLostInARow
}

func (m lossModel) Arrive(from, to int, links []string) []string {
	w := m.w
	var deliver []string
	for _, l := range links {
		if w.rng.Float64() >= w.c.Loss {
			deliver = append(deliver, l)
		}
	}
	if m.isStatus {
		if len(deliver) == 0 && w.c.MaxLostInARow >= 0 && w.lostRow[from][to] >= w.c.MaxLostInARow && len(links) > 0 {
			// (links: those the status is sent on and not cut, every
			// link of the network unless one is cut)
			deliver = append(deliver, links[w.rng.IntN(len(links))])
		}
		if len(deliver) == 0 {
			w.lostRow[from][to]++
		} else {
			w.lostRow[from][to] = 0
		}
	}
	return deliver
}

func (m lossModel) Copies() int {
	if m.w.rng.Float64() < m.w.c.Dup {
		return 2
	}
	return 1
}

func (m lossModel) Delay() time.Duration { return m.w.randDur(m.w.c.DelayMin, m.w.c.DelayMax) }

func (w *world) carry(m *wire.Message) (*wire.Message, error) {
	if w.c.Codec != nil {
		return w.c.Codec(m)
	}
	// Shared by every copy that arrives: cores never modify a message
	// they received, nor keep any of it.
	return m, nil
}

func (w *world) deliver(e *event) {
	x := w.nodes[e.node]
	if !x.alive || e.run != 0 && e.run != x.run {
		return // (held while paused, for a run that died since)
	}
	if w.waitRoutine(e) {
		return
	}
	// What waited comes first, before this delivery's stale count.
	w.readRoutine(e.node, nil)
	if !x.alive || e.run != 0 && e.run != x.run {
		return
	}
	y := w.nodes[e.from]
	msg, stale := w.wallView(e)
	now, at := w.clock(e.node), w.now
	if !e.arrived.IsZero() {
		// Read after it waited (routine.go): as it arrived.
		msg, stale, now, at = e.viewed, e.stale, e.clock, e.arrived
	}
	if w.hooks.deaf == nil || !w.hooks.deaf(w, e) {
		clocks := w.c.ClockJumps+w.c.WallJumps > 0
		var drops uint64
		if clocks {
			drops = staleDrops(x.core)
		}
		w.step(e.node, cluster.Receive{Now: now, Link: e.link, Msg: msg}, func() string { return "recv " + e.link + " from " + y.name + ": " + summary(e.msg) })
		if clocks && x.alive {
			w.checkStale(e, stale, staleDrops(x.core) > drops)
		}
	}
	if !x.alive || stale {
		return // (a stale message is not heard: the checks do not count it)
	}
	typ := e.msg.Value("t")
	if strings.HasPrefix(typ, "NS_") {
		return
	}
	v := &w.views[e.node][e.from]
	v.heard = true
	v.lastSeq = at
	if k := slices.Index(w.net.Links(), e.link); k >= 0 && k < len(v.onLink) {
		v.onLink[k] = at
	}
	gen, _ := e.msg.HexValue("hg")
	seq, _ := e.msg.HexValue("seq")
	if typ == "status" && (gen > v.statusGen || gen == v.statusGen && seq > v.statusSeq) {
		v.statusGen, v.statusSeq = gen, seq
		dt, _ := e.msg.HexValue("dt")
		v.statusDt = time.Duration(dt) * time.Millisecond
		q, _ := e.msg.HexValue("hbd_quiet")
		v.statusQuiet = time.Duration(q) * time.Millisecond
		if q > 0 {
			w.res.QuietStatuses++
		}
	}
	if typ == "status" && e.frun == y.run && (e.msg.Value("st") == cluster.StateUp || e.msg.Value("st") == cluster.StateActive) && v.upRun != y.run {
		v.upRun, v.upAt = y.run, at
	}
	// Restart seen: the first packet of a new run of Y at this run of X.
	if e.frun > 1 && e.frun == y.run && v.firstOfRun < e.frun && gen == y.gen && w.listed(e.node, e.from) {
		v.firstOfRun = e.frun
		w.res.RestartFirst++
		if _, g, _ := x.core.PeerView(y.name); g != y.gen {
			w.violate(CheckRestartSeen, fmt.Sprintf("%s sees %s with hg=%x after the first packet of its run with hg=%x", x.name, y.name, g, y.gen))
		}
		w.push(&event{at: w.now.Add(w.c.Keepalive), kind: evCheck3, node: e.node, run: x.run, from: e.from, frun: e.frun})
	}
}
