package cluster

import "maps"

// Calling a start off. A start decided on what this node knew then may
// turn out to be wrong before its first start script has begun (its
// statuses are still being read): a peer declared dead was alive all
// along (a partition, a stall longer than deadtime) and is heard again,
// or a peer announces that it holds the group (a message that was late,
// a node that ran the group while it could not hear this one). The start
// is then called off (AbandonStart): if no start script has begun, none
// runs, the group is "not held, not failed" here (ResultAbandoned), and
// the rule decides again once the peers have said what they hold. Once a
// start script has begun the start ends as usual, and a duplicate is
// resolved as after any partition (resolveConflict). A start under way is
// announced as such (hbd_starting): a peer that runs the group keeps its
// copy until this one runs, since a call-off would leave the group on
// neither node.

// peerReturned: p, declared dead, is heard again (a fresh message of
// its run, or of a new run; not after a graceful stop that gave
// everything up). What p holds now is unknown until it says so (it may
// have started groups while it was cut off, and a restarted daemon may
// have left its groups running until its release before joining): every
// start under way of a group p may hold is called off, not only the
// takeovers from p. A start of a group p cannot hold (cannotHold) goes
// on: a call-off would only leave the group down until the rule starts
// it again.
func (n *Node) peerReturned(p *peer) {
	for _, g := range n.res.groups {
		if g.state != GroupStarting {
			continue
		}
		if why := n.cannotHold(p, g); why != "" {
			n.logf(LevelInfo, "%s of resource group %s goes on: %s, heard again, cannot hold it (%s)", startWord(g.takeover), g.key, p.name, why)
			continue
		}
		n.abandonStart(g, p, p.name+" was heard again")
	}
}

// lastWord is what a peer said of the groups in its latest announcement
// before it was declared dead (peer.rsc is forgotten then): enough to
// tell, when it is heard again, which groups it cannot hold (cannotHold).
type lastWord struct {
	known bool // an announcement of its run (gen) came before its death
	gen   uint64
	// reloads is this node's count of reloads applied (resources.reloads)
	// when the announcement was applied, not when the peer died: a reload
	// here between the two is one since its last word too.
	reloads  int
	held     map[string]bool // held there (starting, running, stopping, stop-failed)
	failed   map[string]bool // failed there (hbd_failed)
	stopping bool            // its graceful stop was under way (it starts nothing more)
}

// keepLastWord keeps p's latest announcement as its last word, at its
// death. A peer heard again and declared dead again without a new
// announcement keeps the word it had: it is still its latest.
func (n *Node) keepLastWord(p *peer) {
	r := &p.rsc
	if !r.announced || !r.hbd {
		if !r.announced && p.word.known && p.word.gen == p.gen {
			return
		}
		p.word = lastWord{} // a Heartbeat peer says nothing of its failures
		return
	}
	p.word = lastWord{known: true, gen: p.gen, reloads: r.reloads, held: maps.Clone(r.held), failed: maps.Clone(r.failed), stopping: r.stopping}
}

// cannotHold says why p, declared dead and heard again, cannot hold g
// now ("" when it may: the start of g here is called off).
//
// The safety argument. p holds g now only if it held g by its last word
// (the copy may still run: a partition, a stall), or started g since. It
// starts g only when its own rule gives g to it, which needs it eligible
// for g (placement.go). Two facts of its last word make it not eligible
// for as long as they last, whatever it has learnt since:
//
//   - g failed there, and g has no failure_timeout: only hbd cleanup on
//     p lifts it (failures are of a run, and the daemon's next run
//     forgets them: a restart since is a new run, see below);
//   - its graceful stop was under way: a stopping run starts nothing.
//
// So when p did not hold g by its last word and one of these was true, p
// cannot hold g. In doubt the start is called off: p said nothing of its
// groups in this run (no announcement before its death, or a Heartbeat
// peer, which does not announce its failures); p restarted since (the
// run heard now is not the one that spoke: the runs between, cut off
// from this node, may have run anything, and leftovers of a killed run
// run until its successor releases them before joining); or this node
// reloaded since (p may have reloaded too, and a new configuration may
// give g a failure_timeout). Left are the changes made on p alone while
// it was cut off, which this node cannot see: an hbd cleanup of g there,
// or a reload there alone that gave g a failure_timeout. Either lets p
// start g; its announcement, sent to every node it hears again, then
// says it holds g, and the start here is called off as for any announced
// copy (peerHolds) if its start script has not begun; if it has, the
// duplicate is resolved as after any partition (resolveConflict).
func (n *Node) cannotHold(p *peer, g *group) string {
	w := &p.word
	if !w.known || w.gen != p.gen || w.reloads != n.res.reloads || w.held[g.key] {
		return ""
	}
	switch {
	case w.stopping:
		return "its graceful stop was under way, and it did not hold it"
	case w.failed[g.key] && g.spec.FailureTimeout == 0 && (g.next == nil || g.next.FailureTimeout == 0):
		return "it failed there, until hbd cleanup"
	}
	return ""
}

// peerHolds: p's latest announcement lists what it holds: a start under
// way here of one of those groups is called off.
func (n *Node) peerHolds(p *peer) {
	for _, g := range n.res.groups {
		if g.state == GroupStarting && p.rsc.held[g.key] {
			n.abandonStart(g, p, p.name+" holds it")
		}
	}
}

// abandonStart calls the start of g off (once per start); why says what
// changed, for the log.
func (n *Node) abandonStart(g *group, p *peer, why string) {
	if g.abandoning != "" {
		return
	}
	g.abandoning = why
	n.out = append(n.out, AbandonStart{Group: g.key, Peer: p.name})
}

// startAbandoned: the start of g was called off before its first start
// script (ResultAbandoned); why is what called it off, takeover whether
// the start took g over from a peer.
func (n *Node) startAbandoned(g *group, why string, takeover bool) {
	n.setState(g, GroupStopped)
	if g.failed {
		n.setState(g, GroupFailed) // a monitor gave it up meanwhile
	}
	if why == "" {
		n.logf(LevelWarn, "%s of resource group %s abandoned, though this node did not call it off", startWord(takeover), g.key)
		return
	}
	n.logf(LevelInfo, "%s of resource group %s abandoned: %s before its start", startWord(takeover), g.key, why)
}

// startWord names a start in the log lines about calling it off.
func startWord(takeover bool) string {
	if takeover {
		return "Takeover"
	}
	return "Start"
}

// returning: p was declared dead and a fresh message of it has come
// since, but not yet the status that makes it live again (or it was a
// restart's). It may hold the groups it held: a takeover from it waits
// until it is live (and says what it holds) or is declared dead again. A
// peer that gave everything up before it died holds nothing.
func returning(p *peer) bool {
	return p.heard && p.state == StateDead && !p.rsc.gaveUp()
}
