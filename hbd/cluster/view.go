package cluster

import (
	"slices"

	"github.com/hbdproject/hbd/hbd/config"
)

// This node's side of the placement rule (placement.go): it takes the
// facts from its state and asks the rule.

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

// placementFacts is this node's view now, as the placement rule reads it.
// The peers' sets are shared, not copied: use the facts at once.
//
// While reconcile walks the groups (keepView) the view is built once and
// kept until a group's state changes (setState), the one thing the walk
// changes that the view reads: each group asks the rule a few times, and
// building the view is linear in the groups, so 32 groups cost a
// thousand times one group's walk without it.
func (n *Node) placementFacts() *facts {
	if n.view != nil {
		return n.view
	}
	f := n.buildFacts()
	if n.viewKept {
		n.view = f
	}
	return f
}

// keepView makes placementFacts keep the view it builds until forgetView
// or a group's state change (setState).
func (n *Node) keepView() { n.viewKept = true }

// forgetView drops the kept view and keeps none from now on.
func (n *Node) forgetView() { n.view, n.viewKept = nil, false }

// buildFacts builds the view in the node's viewBuf, reusing its slices
// and this node's sets from the view before: every reader uses a view at
// once (placementFacts), and a build replaces the one before.
func (n *Node) buildFacts() *facts {
	f := &n.viewBuf
	var self memberFacts
	if len(f.members) > 0 {
		self = f.members[0] // this node's, always first: reuse its sets
	}
	groups, members := f.groups[:0], f.members[:0]
	*f = facts{
		nodes:     n.cfg.Nodes,
		quorum:    n.hasQuorum(),
		failback:  n.cfg.AutoFailback != config.FailbackOff,
		ping:      len(n.cfg.Ping) > 0,
		exclusive: n.cfg.Exclusive,
		groups:    groups,
		members:   members,
	}
	self = memberFacts{
		name:    n.name,
		active:  n.res.joined && n.state == StateActive && !n.res.stopping,
		offline: n.sets.nodeStandby(n.name),
		held:    clearSet(self.held), probing: clearSet(self.probing),
		failed: clearSet(self.failed), standby: clearSet(self.standby),
	}
	for _, g := range n.res.groups {
		to, away := n.sets.move(g.key)
		g.viewAt = len(f.groups)
		f.groups = append(f.groups, groupFacts{key: g.key, pref: g.pref, removed: g.removed,
			disabled: n.sets.disabled(g.key), moveTo: to, away: away})
		addTo(&self.held, g.key, g.holds())
		addTo(&self.probing, g.key, g.state == GroupProbing)
		addTo(&self.failed, g.key, g.failed)
		addTo(&self.standby, g.key, g.standby)
	}
	self.reach, self.reachKnown = n.pingOf(n.name)
	f.members = append(f.members, self)
	for _, p := range n.peers {
		m := memberFacts{name: p.name, offline: n.sets.nodeStandby(p.name)}
		if n.live(p) {
			r := &p.rsc
			m.active = p.state == StateActive && r.announced && !r.stopping
			m.held, m.failed, m.standby = r.held, r.failed, r.standby
			m.reach, m.reachKnown = n.pingOf(p.name)
		}
		f.members = append(f.members, m)
	}
	return f
}

// of is g's facts in the view f: at g's place in it (group.viewAt) when
// f was built from the groups as they are, found by key otherwise. The
// rule asks about each group a few times per reconcile: a search by key
// for every question made a reconcile quadratic in the groups.
func (f *facts) of(g *group) *groupFacts {
	if i := g.viewAt; i < len(f.groups) && f.groups[i].key == g.key {
		return &f.groups[i]
	}
	return f.group(g.key)
}

// clearSet empties the set m for reuse (nil stays nil: addTo makes it).
func clearSet(m map[string]bool) map[string]bool {
	clear(m)
	return m
}

// desired is the node the placement rule gives g to now ("" nobody).
func (n *Node) desired(g *group) string {
	f := n.placementFacts()
	return f.desired(f.of(g))
}

// willing: node is willing to hold g now (placement.go).
func (n *Node) willing(node string, g *group) bool {
	f := n.placementFacts()
	return f.willing(node, f.of(g))
}

// holders lists the nodes holding g as this node knows it (itself, and
// live peers whose latest announcement lists it), in ha.cf order from
// the preferred node on.
func (n *Node) holders(g *group) []string {
	f := n.placementFacts()
	return f.holders(f.of(g))
}

// otherHolders is holders(g) without this node.
func (n *Node) otherHolders(g *group) []string {
	return slices.DeleteFunc(n.holders(g), func(h string) bool { return h == n.name })
}

// holderCount is how many nodes hold g as this node knows it (holders).
func (n *Node) holderCount(g *group) int {
	f := n.placementFacts()
	return f.holderCount(f.of(g))
}

// exclBlocked: a group before g in its exclusive set is held by, or
// placed on, node (placement.go).
func (n *Node) exclBlocked(node string, g *group) bool {
	f := n.placementFacts()
	return f.exclBlocked(node, f.of(g))
}

// addTo adds key to the set *m (made on first use) when in is true.
func addTo(m *map[string]bool, key string, in bool) {
	if !in {
		return
	}
	if *m == nil {
		*m = make(map[string]bool)
	}
	(*m)[key] = true
}
