package cluster

// Exclusive groups (ha.cf `exclusive`, config.Config.Exclusive): the
// groups of one set never run on the same node; the first listed wins.
//
// The rule: a node is not eligible for a group while it holds, starts,
// or is the desired holder of a group listed before it in its set
// (exclBlocked, in eligible); so the higher group is placed first and the
// lower one goes to another node, or nowhere. A group never starts on a
// node while that node holds any other group of its set (exclHeldHere,
// in reconcile): the lower one is released there first (StopGroup, no
// handshake: nobody else may start it before its release is announced),
// and only after its OpDone does the higher one start.

// exclSet returns g's exclusive set and its rank in it (0 is the
// highest priority); nil when g is in none.
func (n *Node) exclSet(g *group) ([]string, int) {
	for _, set := range n.cfg.Exclusive {
		for i, k := range set {
			if k == g.key {
				return set, i
			}
		}
	}
	return nil, 0
}

// exclBlocked: node holds (as this node knows it), starts, or is the
// desired holder of a group listed before g in g's exclusive set.
func (n *Node) exclBlocked(node string, g *group) bool {
	set, rank := n.exclSet(g)
	for _, k := range set[:rank] {
		h := n.groupByKey(k)
		if h == nil || h.removed {
			continue
		}
		if n.holdsOn(node, h) || n.desired(h) == node {
			return true
		}
	}
	return false
}

// holdsOn: node holds h, as this node knows it.
func (n *Node) holdsOn(node string, h *group) bool {
	if node == n.name {
		return h.holds() || h.state == GroupProbing
	}
	p := n.peerByName(node)
	return p != nil && n.live(p) && p.rsc.held[h.key]
}

// exclHeldHere returns another group of g's exclusive set that this node
// holds (starting, running, stopping, stop-failed, probing), or nil.
func (n *Node) exclHeldHere(g *group) *group {
	set, _ := n.exclSet(g)
	for _, k := range set {
		if k == g.key {
			continue
		}
		if h := n.groupByKey(k); h != nil && (h.holds() || h.state == GroupProbing) {
			return h
		}
	}
	return nil
}
