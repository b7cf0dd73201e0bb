package cluster

// prepareStart is reconcile's answer to a group this node is to hold
// but may not start yet: when what holds it back is a live peer
// releasing it (releasingPeer), the daemon is told once (PrepareGroup) so
// that the start's status reads run beside the peer's stop scripts
// instead of after them. A group that failed here is not started, so not
// prepared either.
func (n *Node) prepareStart(g *group) {
	from := ""
	if !g.failed {
		from = n.releasingPeer(g)
	}
	if from == g.prepared {
		return
	}
	g.prepared = from
	if from != "" {
		n.out = append(n.out, PrepareGroup{Group: g.key, Spec: g.spec, From: from})
	}
}

// releasingPeer names the live peer that holds g and is giving it up
// (its graceful stop, announced as hbd_stopping=1 or info=shutdown, or
// its standby handshake with this node for a class that holds g), or "".
// The first in the configuration's order wins, so a replay names the same.
func (n *Node) releasingPeer(g *group) string {
	for _, p := range n.peers {
		if !n.live(p) || !p.rsc.held[g.key] {
			continue
		}
		if p.rsc.stopping {
			return p.name
		}
		if req, ok := n.res.standbyFrom[p.name]; ok && inClass(g, req.which, p.name) {
			return p.name
		}
	}
	return ""
}
