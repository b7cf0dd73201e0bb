package etcdown

import (
	"slices"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// initdead: nodes started together would flap once without it. The
// first one up sees no other member, so the rule gives it every group;
// it claims them all, and as each other node comes up, auto_failback
// hands that node's groups back. So for Options.InitDead after it
// started (ha.cf's initdead: Heartbeat's deadtime for the nodes not
// heard from yet just after start), a node does not claim a free group
// whose preferred node is another one that has not come up, unless that
// node is known absent: in standby, or seen leaving since this node
// started (it was up, and went). A group the operator moved to this node
// is claimed at once, and a group whose preferred node is up goes where
// the rule puts it.

// awaitsPreferred says whether this node leaves g, free and given to it
// by the rule, to g's preferred node for now (initdead). It logs the
// wait once per preferred node.
func (w *Owner) awaitsPreferred(g cluster.PlacedGroup, v view, now time.Time) bool {
	p := g.Preferred
	if w.o.InitDead <= 0 || p == w.o.Node || !now.Before(w.started.Add(w.o.InitDead)) {
		return false
	}
	if movedTo, _ := cluster.ParseMove(v.moves[g.Key]); movedTo == w.o.Node {
		return false
	}
	if slices.Contains(v.live, p) || v.standby[p] || w.left[p] || !slices.Contains(w.o.Nodes, p) {
		return false
	}
	if !w.initDeadLogged[p] {
		w.initDeadLogged[p] = true
		w.log.Infof("etcd: waiting until %s (initdead) for %s to come up before taking the groups it prefers",
			w.started.Add(w.o.InitDead).Format(time.RFC3339), p)
	}
	return true
}
