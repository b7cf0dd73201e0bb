package cluster

import (
	"math"
	"time"
)

// quorumOn: this cluster uses quorum (config.QuorumMode: auto is on with
// three or more nodes).
func (n *Node) quorumOn() bool {
	return n.cfg.Quorum.Enabled(len(n.cfg.Nodes))
}

// hasQuorum: this node hears a majority of the ha.cf nodes, itself
// included (always true without quorum).
func (n *Node) hasQuorum() bool {
	if !n.quorumOn() {
		return true
	}
	return 2*n.quorumAlive() > len(n.cfg.Nodes)
}

// quorumAlive counts this node and the peers that count for the quorum:
// live ones, but one silent for the shorter deadtime a reload's longer
// one is held back for (holdLongerDeadtime).
func (n *Node) quorumAlive() int {
	alive := 1
	for _, p := range n.peers {
		if n.live(p) && !n.heldSilent(p) {
			alive++
		}
	}
	return alive
}

// checkQuorum logs quorum changes and, without quorum, stops every
// running group at once (no handshake: nobody may take them from us
// either), also in the middle of a graceful stop (the majority waits
// for this node as after a crash). Starting groups are stopped when
// their start ends.
func (n *Node) checkQuorum() {
	r := &n.res
	if !r.joined {
		return
	}
	q := n.hasQuorum()
	if q != !r.noQuorum {
		r.noQuorum = !q
		alive := n.quorumAlive()
		if q {
			// Peers of the majority not heard yet may hold groups: hear
			// them (every live one within a deadtime) before any start.
			if until := n.now.Add(n.effectiveDeadtime()); until.After(r.fenceUntil) {
				r.fenceUntil = until
			}
			n.logf(LevelInfo, "Quorum regained: %d of %d nodes alive; no group starts here before %d ms from now (the other nodes of the majority are heard first)", alive, len(n.cfg.Nodes), n.effectiveDeadtime().Milliseconds())
			n.regainWait()
		} else {
			n.logf(LevelCrit, "Quorum lost: only %d of %d nodes alive; releasing every resource group and starting none", alive, len(n.cfg.Nodes))
		}
	}
	if q {
		return
	}
	for _, g := range r.groups {
		if g.state == GroupRunning {
			n.stopGroup(g)
		}
	}
}

// fenceDeath: with quorum, a peer declared dead that had not given
// every group up (gaveUp: a crash, a partition, also one in the middle
// of a graceful stop, which releases everything at once when it loses
// the majority) may still run groups until it notices it lost the majority (at most
// deadtime after it last heard us) and has stopped them: no group is
// started here before two deadtimes after its death.
//
// Also a peer never heard in this run (declared dead at initdead): it may
// have run groups since before this node started, on the other side of
// a partition that another node of the majority heard it across until
// just now: that node waits, but may already name this one the holder
// of the peer's groups.
//
// Not when it is being fenced (safe.go: sbPeerDead runs first): no group
// starts before the fence succeeded, and a fenced node runs nothing, so
// the wait would only delay the takeover past the fence.
func (n *Node) fenceDeath(p *peer, gaveUp bool) {
	if !n.quorumOn() || gaveUp || len(n.res.groups) == 0 || !n.hasQuorum() {
		return
	}
	if n.cfg.Fence.Enabled() && n.sb.fences[p.name] != nil {
		n.logf(LevelInfo, "Quorum: %s is fenced before any group starts here; no wait for it to notice it is cut off", p.name)
		return
	}
	wait := n.cutOffWait()
	until := n.now.Add(wait)
	if until.After(n.res.fenceUntil) {
		n.res.fenceUntil = until
		if p.heard {
			n.logf(LevelInfo, "Quorum: %s may still run groups until it notices it is cut off; no group starts here before %d ms from now", p.name, wait.Milliseconds())
		} else {
			n.logf(LevelInfo, "Quorum: %s was not heard since this node started and may run groups elsewhere until it notices it is cut off; no group starts here before %d ms from now", p.name, wait.Milliseconds())
		}
	}
}

// cutOffWait is how long after its death here a cut-off peer may still
// run groups: it notices it lost the majority within its deadtime, and
// stops them within about a deadtime. Its deadtime is this node's, or
// the longest one a node of the cluster may apply (clusterDeadtime): it
// announced a longer one (a reload there lengthened it before one here
// did, or one here never will; or shortened it and the longer old one
// still applies there: it declares its peers dead late, and so notices
// late too), or it holds a longer one back and counts a peer for the
// quorum as long as what that peer said it applies (holdLongerDeadtime).
// One that lengthened its deadtime and has not been heard saying so
// still counts its peers for the quorum as long as the old one, or
// theirs. Should the
// longest grow while the wait is pending, the wait grows with it
// (quorumWaitsFollow).
// It is asked as a wait is set, and records the longest it used
// (waitDT): the same as the pending waits', if longer.
func (n *Node) cutOffWait() time.Duration {
	r := &n.res
	cd := n.clusterDeadtime()
	if n.now.Before(r.fenceUntil) || n.now.Before(r.regainUntil) {
		cd = max(cd, r.waitDT)
	}
	r.waitDT = cd
	dt := n.effectiveDeadtime()
	return addSat(dt, max(dt, cd))
}

// clusterDeadtime is the longest deadtime a node of the cluster may
// apply, as far as this node knows: its own and the one each peer said
// (peerDeadtimeSaid).
func (n *Node) clusterDeadtime() time.Duration {
	d := n.effectiveDeadtime()
	for _, p := range n.peers {
		d = max(d, n.peerDeadtimeSaid(p))
	}
	return d
}

// quorumWaitsFollow: the longest deadtime of the cluster
// (clusterDeadtime) may have changed: a peer said another one, or a
// reload here changed this node's. A pending quorum wait was sized with
// the longest as it stood (waitDT): a cut-off node may notice as much
// later as it grew since, so the wait grows by as much. It never shrinks.
func (n *Node) quorumWaitsFollow() {
	r := &n.res
	cd := n.clusterDeadtime()
	if !n.now.Before(r.fenceUntil) && !n.now.Before(r.regainUntil) {
		r.waitDT = cd // no wait pending: the next one is sized with cd
		return
	}
	if cd <= r.waitDT {
		return
	}
	diff := cd - r.waitDT
	r.waitDT = cd
	if n.now.Before(r.fenceUntil) {
		r.fenceUntil = r.fenceUntil.Add(diff)
	}
	if n.now.Before(r.regainUntil) {
		r.regainUntil = r.regainUntil.Add(diff)
	}
	n.logf(LevelInfo, "Quorum: a node may now apply a deadtime of %d ms, %d ms longer; no group starts here before %d ms from now (a cut-off node notices later too)", cd.Milliseconds(), diff.Milliseconds(), maxTime(r.fenceUntil, r.regainUntil).Sub(n.now).Milliseconds())
}

// peerDeadtimeSaid is the deadtime p applies, as its latest status said
// it: hbd_dt when present (with quorum an hbd node sends it whenever its
// dt is not the one it applies: Heartbeat's start bonus, a reload's
// transition), else dt (a Heartbeat node's dt includes its start bonus:
// longer than needed then, never shorter). It counts up to
// peerDeadtimeBound: one peer (broken, hostile, or with a typo in its
// ha.cf) cannot stall every takeover of the cluster.
func (n *Node) peerDeadtimeSaid(p *peer) time.Duration {
	return min(p.deadtimeSaid(), n.peerDeadtimeBound())
}

// deadtimeSaid is the deadtime p says it applies: its hbd_dt when it
// sends one (dt keeps Heartbeat's start bonus), else its dt.
func (p *peer) deadtimeSaid() time.Duration {
	if p.hbdDT != 0 {
		return p.hbdDT
	}
	return p.deadtime
}

// peerDeadtimeBound is the longest deadtime of a peer this node's waits
// count (peerDeadtimeSaid): four times its own, or its initdead if
// longer. A reload that lengthens the deadtime more than that is done in
// steps (docs/config.md): beyond it a cut-off peer may notice later than
// the wait assumes.
func (n *Node) peerDeadtimeBound() time.Duration {
	return max(4*n.effectiveDeadtime(), n.initdead)
}

// warnPeerDeadtime: p said a deadtime beyond peerDeadtimeBound (WARN at
// most once per LogEvery per peer).
func (n *Node) warnPeerDeadtime(p *peer) {
	d := p.deadtimeSaid()
	b := n.peerDeadtimeBound()
	if d <= b || !p.dtWarn.allow(n.now, 1, func(int) {}) {
		return
	}
	n.logf(LevelWarn, "%s says it applies a deadtime of %d ms: more than this node counts in its quorum waits (%d ms: four times its own deadtime, or its initdead); lengthen a deadtime in steps", p.name, d.Milliseconds(), b.Milliseconds())
}

// addSat is a+b, saturated at the longest time.Duration (both >= 0).
func addSat(a, b time.Duration) time.Duration {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// holdLongerDeadtime: with quorum, a reload lengthened the deadtime from
// was (in force until now) to that of the new configuration. The peers
// size their wait for this node, should a partition cut it off, by the
// longest deadtime they know of (cutOffWait): one that has not heard the
// longer one expects it to notice the lost majority within was (or
// within its own deadtime, if longer). So, until every peer has heard a
// status with the new deadtime or declared this node dead, a peer silent
// for was, or for the deadtime it said it applies if longer
// (heldDeadtime), does not count for the quorum here: a node never
// notices the loss of quorum later than its peers assume. The first such
// status goes out within a new keepalive (applyTimings), and a peer that
// hears none of them for its own deadtime declares this node dead; a cut
// after that is noticed with the new deadtime, which every peer still of
// the majority has heard by then. A peer's deadtime is the one it
// announced (peerDeadtimeSaid), and counts up to the new one (a peer
// that waits at least that long already expects the new one).
//
// Only the quorum counts so: peers are declared dead after the new
// deadtime at once, as without quorum, since a peer that reloaded first
// may send its statuses less often already (this node may not have heard
// that yet). The cost: while it holds, the loss of the statuses of a
// majority of the peers for was makes this node release its groups (and
// start none for a deadtime once it hears them again), as the longer
// deadtime would not.
func (n *Node) holdLongerDeadtime(was time.Duration) {
	target := n.effectiveDeadtime()
	if !n.quorumOn() || target <= was {
		return
	}
	if n.now.Before(n.dtCeilUntil) {
		was = min(was, n.dtCeil) // an earlier one still held: the peers may expect its
	}
	peerDT := was
	for _, p := range n.peers {
		peerDT = max(peerDT, n.peerDeadtimeSaid(p))
	}
	until := n.now.Add(n.keepalive + was + min(peerDT, target))
	if n.now.Before(n.dtCeilUntil) {
		until = maxTime(until, n.dtCeilUntil)
	}
	n.dtCeil, n.dtCeilUntil = was, until
	n.logf(LevelInfo, "Quorum: deadtime now %d ms; for %d ms a peer silent for %d ms, or for the deadtime it applies if longer, does not count for the quorum (the other nodes hear the new one first: until then they expect this node to notice a lost majority as soon as before)", target.Milliseconds(), until.Sub(n.now).Milliseconds(), was.Milliseconds())
}

// regainWait: the change of the partition that gave this node the
// majority back may have cut off a peer that was dead here already. That
// peer may hold a group it started just before the cut, which the rest of
// the majority has not heard of, until it notices it lost the majority
// (a deadtime after the cut) and has stopped it, as after a death
// (fenceDeath). The nodes that heard it wait once they declare it dead,
// but may already name this one the holder of its groups. So no group
// starts here for two deadtimes while such a peer stays dead here; once
// heard, it says what it holds. A peer that gave everything up (gaveUp)
// holds nothing; one whose graceful stop was cut off may.
func (n *Node) regainWait() {
	p := n.deadMayHold()
	if p == nil {
		return
	}
	wait := n.cutOffWait()
	n.res.regainUntil = n.now.Add(wait)
	n.logf(LevelInfo, "Quorum: %s is dead here and may run groups elsewhere until it notices it is cut off; no group starts here before %d ms from now unless it is heard first", p.name, wait.Milliseconds())
}

// deadMayHold returns the first peer dead here that did not give
// everything up (gaveUp), or nil.
func (n *Node) deadMayHold() *peer {
	for _, p := range n.peers {
		if !n.live(p) && !p.rsc.gaveUp() {
			return p
		}
	}
	return nil
}

// fenced: starts wait for the cut-off peers to release.
func (n *Node) fenced() bool { return !n.fenceDeadline().IsZero() }

func (n *Node) fenceDeadline() time.Time {
	until := n.res.fenceUntil
	if n.now.Before(n.res.regainUntil) && n.res.regainUntil.After(until) && n.deadMayHold() != nil {
		until = n.res.regainUntil
	}
	if n.now.Before(until) {
		return until
	}
	return time.Time{}
}

// heldDeadtime is the silence after which p no longer counts for the
// quorum while a longer deadtime is held back (holdLongerDeadtime): the
// shorter one, or the one p said it applies if longer, up to the one in
// force.
func (n *Node) heldDeadtime(p *peer) time.Duration {
	return min(n.effectiveDeadtime(), max(n.dtCeil, n.peerDeadtimeSaid(p)))
}

// heldSilent: p, live, does not count for the quorum: it fell silent for
// heldDeadtime while a longer deadtime was held back, and has not been
// heard since. The end of the hold does not make it count again: until
// heard it is as far from the quorum as a dead peer, which it becomes
// after the longer deadtime.
func (n *Node) heldSilent(p *peer) bool {
	at := p.lastHeard.Add(n.heldDeadtime(p))
	return at.Before(n.dtCeilUntil) && !n.now.Before(at)
}

// heldSilences gives at every time at which a live peer stops counting
// for the quorum while a longer deadtime is held back (NextTick,
// reconcileDeadline: the quorum is checked then).
func (n *Node) heldSilences(at func(time.Time)) {
	if !n.now.Before(n.dtCeilUntil) || !n.quorumOn() {
		return
	}
	for _, p := range n.peers {
		if n.live(p) {
			if t := p.lastHeard.Add(n.heldDeadtime(p)); t.After(n.now) && t.Before(n.dtCeilUntil) {
				at(t)
			}
		}
	}
}
