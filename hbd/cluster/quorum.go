package cluster

import "time"

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
	alive := 1
	for _, p := range n.peers {
		if n.live(p) {
			alive++
		}
	}
	return 2*alive > len(n.cfg.Nodes)
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
		alive := 1
		for _, p := range n.peers {
			if n.live(p) {
				alive++
			}
		}
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
	wait := n.cutOffWait(p)
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
// the longer one of a reload's transition it announced (hbd_dt: after a
// reload shortened the deadtime it declares its peers dead late, and so
// notices late too).
func (n *Node) cutOffWait(p *peer) time.Duration {
	dt := n.effectiveDeadtime()
	return dt + max(dt, p.oldDT)
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
	wait := n.cutOffWait(p)
	for _, q := range n.peers {
		if !n.live(q) && !q.rsc.gaveUp() {
			wait = max(wait, n.cutOffWait(q))
		}
	}
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

// extendQuorumWaits: a reload lengthened the deadtime in force from
// oldDT to dt' while a quorum wait (fenceUntil, regainUntil) is pending.
// The wait was computed with oldDT as the time a cut-off peer takes to
// notice it lost the majority (its deadtime after it last heard us) and
// then to stop its groups (about a deadtime): two oldDT. The peer
// reloads too, before or after this node:
//   - before it declared us dead: it notices a deadtime dt' after the
//     cut, up to dt'-oldDT later than the wait assumed, and its stop's
//     bound grows by as much: it is done within two dt', so the wait
//     moves by twice the difference;
//   - after it declared us dead: it noticed under oldDT and only its stop
//     may be later, within the same two dt';
//   - never (it reloads after the wait ends): it stays within two oldDT.
//
// A peer that reloaded before this node computed the wait is the first
// case: the wait used oldDT and grows here. What is not covered is a
// peer whose reload comes a whole wait before this node's (a deadtime
// differing across the cluster for that long). A shortened deadtime moves
// nothing: the old one stays in force for a deadtime (applyTimings).
func (n *Node) extendQuorumWaits(oldDT time.Duration) {
	diff := n.effectiveDeadtime() - oldDT
	if diff <= 0 {
		return
	}
	r := &n.res
	extended := false
	if n.now.Before(r.fenceUntil) {
		r.fenceUntil = r.fenceUntil.Add(2 * diff)
		extended = true
	}
	if n.now.Before(r.regainUntil) {
		r.regainUntil = r.regainUntil.Add(2 * diff)
		extended = true
	}
	if extended {
		n.logf(LevelInfo, "Quorum: the deadtime grew by %d ms; no group starts here before %d ms from now (a cut-off node notices and stops later too)", diff.Milliseconds(), maxTime(r.fenceUntil, r.regainUntil).Sub(n.now).Milliseconds())
	}
}
