package cluster

import (
	"github.com/hbdproject/hbd/hbd/config"
)

func (n *Node) live(p *peer) bool { return p.heard && p.state != StateDead }

func (n *Node) livePeers() int {
	c := 0
	for _, p := range n.peers {
		if n.live(p) {
			c++
		}
	}
	return c
}

// eligible: the node may hold g (active, joined, announced, not
// stopping, g did not fail there).
func (n *Node) eligible(node string, g *group) bool {
	if !n.hasQuorum() {
		return false // without a majority, nobody holds anything (for us)
	}
	if node == n.name {
		if !n.res.joined || n.state != StateActive || n.res.stopping || g.failed {
			return false
		}
		return !n.exclBlocked(node, g)
	}
	p := n.peerByName(node)
	if p == nil || !n.live(p) || p.state != StateActive {
		return false
	}
	r := &p.rsc
	return r.announced && !r.stopping && !r.failed[g.key] && !n.exclBlocked(node, g)
}

func (n *Node) willing(node string, g *group) bool {
	if !n.eligible(node, g) || n.pingWorse(node, g) {
		return false
	}
	if node == n.name {
		return !g.standby
	}
	return !n.peerByName(node).rsc.standby[g.key]
}

// holders lists the nodes holding g as this node knows it (itself, and
// live peers whose latest announcement lists it), in ha.cf order from
// the preferred node on.
func (n *Node) holders(g *group) []string {
	var hs []string
	for _, name := range n.fromPreferred(g) {
		if name == n.name {
			if g.holds() {
				hs = append(hs, name)
			}
			continue
		}
		if p := n.peerByName(name); p != nil && n.live(p) && p.rsc.held[g.key] {
			hs = append(hs, name)
		}
	}
	return hs
}

// fromPreferred is ha.cf's node order starting at g's preferred node,
// wrapping.
func (n *Node) fromPreferred(g *group) []string {
	nodes := n.cfg.Nodes
	start := 0
	for i, name := range nodes {
		if name == g.pref {
			start = i
		}
	}
	out := make([]string, 0, len(nodes))
	for i := range nodes {
		out = append(out, nodes[(start+i)%len(nodes)])
	}
	return out
}

// desired is the placement rule (doc.go, "Who holds a group"):
//  1. auto_failback on/legacy: the preferred node, if willing;
//  2. the current holder, if willing (groups do not move needlessly);
//  3. the first willing node from the preferred one on, in ha.cf order;
//  4. the first eligible node so (a node standing by still takes a group
//     nobody else can hold);
//  5. nobody.
func (n *Node) desired(g *group) string {
	order := n.fromPreferred(g)
	if n.cfg.AutoFailback != config.FailbackOff && n.willing(g.pref, g) {
		return g.pref
	}
	if hs := n.holders(g); len(hs) > 0 && n.willing(hs[0], g) {
		return hs[0]
	}
	for _, name := range order {
		if n.willing(name, g) {
			return name
		}
	}
	for _, name := range order {
		if n.eligible(name, g) {
			return name
		}
	}
	return ""
}

// canStart: no live peer holds g or has not told us what it holds, and
// every live hbd peer's rule gives g to this node too.
func (n *Node) canStart(g *group) bool {
	if !n.sbMayStart(g) {
		return false
	}
	for _, p := range n.peers {
		if !n.live(p) {
			continue
		}
		r := &p.rsc
		if !r.announced || r.held[g.key] {
			return false
		}
		if r.hbd && r.want[g.key] != n.name {
			return false
		}
		// Its latest announcement must have been made after it saw our
		// latest one: a want computed from our older state is no consent
		// (both could otherwise start a group within one message delay).
		if r.hbd && r.seenMe < n.res.stateEpoch {
			n.res.needSync = true
			return false
		}
		// A standby handoff from it is under way: acquire after its
		// ask_resources info=done, as Heartbeat does.
		if w, ok := n.res.standbyFrom[p.name]; ok && inClass(g, w, p.name) {
			return false
		}
	}
	return true
}
