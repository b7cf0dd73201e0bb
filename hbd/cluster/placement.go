package cluster

// The placement rule (doc.go, "Who holds a group") as a pure function of
// facts: one node's view of the cluster at one instant. Every node
// computes it from its own view; when the views agree (membership and the
// peers' announcements), the answers agree.

// facts is what the placement rule decides from. Node.placementFacts
// takes it from the node's state; the rule reads nothing else.
type facts struct {
	// nodes is ha.cf's node order (every configured node).
	nodes []string
	// quorum: the viewing node hears a majority of the nodes, itself
	// included, or quorum is off. Without it nobody is eligible.
	quorum bool
	// failback: auto_failback is on or legacy.
	failback bool
	// ping: ping nodes are configured, so a node reaching fewer of them
	// than another eligible node is not willing (Heartbeat's ipfail).
	ping bool
	// exclusive lists ha.cf's exclusive sets of group keys, in order: in
	// each, the first listed wins.
	exclusive [][]string
	// groups is every group the viewing node knows, in haresources order.
	groups []groupFacts
	// members is the viewing node and every configured peer it tracks.
	members []memberFacts
}

// groupFacts is one group as the rule sees it.
type groupFacts struct {
	key, pref string
	// removed: the group left the configuration (it is being stopped):
	// it blocks no group of its exclusive set.
	removed bool
	// disabled: an operator disabled it (hbd group disable): nobody is
	// eligible.
	disabled bool
	// moveTo: an operator moved it there (hbd group move GROUP NODE): that
	// node holds it whenever it is eligible. away: moved away from that
	// node (hbd group move GROUP), which is not eligible.
	moveTo, away string
}

// memberFacts is one node as the viewing node knows it.
type memberFacts struct {
	name string
	// active: the node is active and has joined, has announced its groups
	// (a peer: in its current run), and is not stopping.
	active bool
	// offline: an operator put the node in standby (hbd node standby): it
	// is eligible for no group.
	offline bool
	// held: the groups it holds (starting, running, stopping,
	// stop-failed); empty for a peer that is not alive.
	held map[string]bool
	// probing: the groups it is probing (the viewing node only; a peer
	// lists those in held). They count as held for exclusive sets.
	probing map[string]bool
	// failed: the groups that failed there (a start, or a monitor).
	failed map[string]bool
	// standby: the groups it stands by for (hb_standby, hb_takeover).
	standby map[string]bool
	// reach is how many ping nodes it reaches; reachKnown is false when
	// unknown (no ping nodes there, a Heartbeat peer, a dead peer).
	reach      int
	reachKnown bool
}

func (f *facts) member(name string) *memberFacts {
	for i := range f.members {
		if f.members[i].name == name {
			return &f.members[i]
		}
	}
	return nil
}

func (f *facts) group(key string) *groupFacts {
	for i := range f.groups {
		if f.groups[i].key == key {
			return &f.groups[i]
		}
	}
	return nil
}

// eligible: node may hold g: there is quorum, g is not disabled, node
// is active (joined, announced, not stopping), not in standby, g was not
// moved away from it and did not fail there, and no group before g in g's
// exclusive set is held by, or placed on, node.
func (f *facts) eligible(node string, g *groupFacts) bool {
	if !f.quorum {
		return false // without a majority, nobody holds anything (for us)
	}
	if g.disabled || g.away == node {
		return false
	}
	m := f.member(node)
	if m == nil || !m.active || m.offline || m.failed[g.key] {
		return false
	}
	return !f.exclBlocked(node, g)
}

// willing: node is eligible for g, does not stand by for it, and reaches
// as many ping nodes as every other node eligible for g.
func (f *facts) willing(node string, g *groupFacts) bool {
	if !f.eligible(node, g) || f.pingWorse(node, g) {
		return false
	}
	return !f.member(node).standby[g.key]
}

// pingWorse: node reaches fewer ping nodes than another node eligible for
// g: it is not willing to hold g, so the rule gives g to the
// better-connected node (a holder hands it over).
func (f *facts) pingWorse(node string, g *groupFacts) bool {
	if !f.ping {
		return false
	}
	m := f.member(node)
	if m == nil || !m.reachKnown {
		return false
	}
	for _, other := range f.nodes {
		if other == node {
			continue
		}
		if o := f.member(other); o != nil && o.reachKnown && o.reach > m.reach && f.eligible(other, g) {
			return true
		}
	}
	return false
}

// exclBlocked: node holds (or probes), or is the desired holder of, a
// group listed before g in g's exclusive set.
func (f *facts) exclBlocked(node string, g *groupFacts) bool {
	set, rank := exclSet(f.exclusive, g.key)
	m := f.member(node)
	for _, k := range set[:rank] {
		h := f.group(k)
		if h == nil || h.removed {
			continue
		}
		if m != nil && (m.held[k] || m.probing[k]) || f.desired(h) == node {
			return true
		}
	}
	return false
}

// fromPreferred is the i-th node of ha.cf's node order starting at g's
// preferred node, wrapping (i < len(f.nodes)).
func (f *facts) fromPreferred(g *groupFacts, i int) string {
	start := 0
	for j, name := range f.nodes {
		if name == g.pref {
			start = j
		}
	}
	return f.nodes[(start+i)%len(f.nodes)]
}

// holds: node holds g.
func (f *facts) holds(node string, g *groupFacts) bool {
	m := f.member(node)
	return m != nil && m.held[g.key]
}

// holders lists the nodes holding g, from the preferred node on.
func (f *facts) holders(g *groupFacts) []string {
	var hs []string
	for i := range f.nodes {
		if name := f.fromPreferred(g, i); f.holds(name, g) {
			hs = append(hs, name)
		}
	}
	return hs
}

// holderCount is len(f.holders(g)), counted without a list.
func (f *facts) holderCount(g *groupFacts) int {
	c := 0
	for _, name := range f.nodes {
		if f.holds(name, g) {
			c++
		}
	}
	return c
}

// firstHolder is f.holders(g)[0], "" when nobody holds g.
func (f *facts) firstHolder(g *groupFacts) string {
	for i := range f.nodes {
		if name := f.fromPreferred(g, i); f.holds(name, g) {
			return name
		}
	}
	return ""
}

// desired is the placement rule (doc.go, "Who holds a group"):
//  0. the node an operator moved g to, if eligible;
//  1. auto_failback on/legacy: the preferred node, if willing;
//  2. the current holder, if willing (groups do not move needlessly);
//  3. the first willing node from the preferred one on, in ha.cf order;
//  4. the first eligible node so (a node standing by still takes a group
//     nobody else can hold);
//  5. nobody ("").
func (f *facts) desired(g *groupFacts) string {
	if g.moveTo != "" && f.eligible(g.moveTo, g) {
		return g.moveTo
	}
	if f.failback && f.willing(g.pref, g) {
		return g.pref
	}
	if h := f.firstHolder(g); h != "" && f.willing(h, g) {
		return h
	}
	for i := range f.nodes {
		if name := f.fromPreferred(g, i); f.willing(name, g) {
			return name
		}
	}
	for i := range f.nodes {
		if name := f.fromPreferred(g, i); f.eligible(name, g) {
			return name
		}
	}
	return ""
}
