package cluster

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
// everything up). Every start under way is called off, not only the
// takeovers from p: what p holds now is unknown until it says so (it may
// have started groups while it was cut off, and a restarted daemon may
// have left its groups running until its release before joining).
func (n *Node) peerReturned(p *peer) {
	for _, g := range n.res.groups {
		if g.state == GroupStarting {
			n.abandonStart(g, p, p.name+" was heard again")
		}
	}
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
