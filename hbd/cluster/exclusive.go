package cluster

// Exclusive groups (ha.cf `exclusive`, config.Config.Exclusive): the
// groups of one set never run on the same node; the first listed wins.
//
// The rule: a node is not eligible for a group while it holds, starts,
// or is the desired holder of a group listed before it in its set
// (facts.exclBlocked, in placement.go); so the higher group is placed
// first and the lower one goes to another node, or nowhere. A group never starts on a
// node while that node holds any other group of its set (exclHeldHere,
// in reconcile): the lower one is released there first (StopGroup, no
// handshake: nobody else may start it before its release is announced),
// and only after its OpDone does the higher one start.

// exclSet returns the exclusive set (of sets) holding the group key and
// the key's rank in it (0 is the highest priority); nil when it is in
// none.
func exclSet(sets [][]string, key string) ([]string, int) {
	for _, set := range sets {
		for i, k := range set {
			if k == key {
				return set, i
			}
		}
	}
	return nil, 0
}

// exclHeldHere returns another group of g's exclusive set that this node
// holds (starting, running, stopping, stop-failed, probing), or nil.
func (n *Node) exclHeldHere(g *group) *group {
	set, _ := exclSet(n.cfg.Exclusive, g.key)
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
