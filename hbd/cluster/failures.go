package cluster

import (
	"fmt"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// recordFailure marks g failed here (a failed start, or GroupFailed):
// this node is not eligible for it until the failure expires
// (config.Group.FailureTimeout; 0: never) or CmdCleanup.
func (n *Node) recordFailure(g *group) {
	g.failed = true
	g.failCount++
	g.lastFailure = n.now
	g.failedUntil = time.Time{}
	if d := g.spec.FailureTimeout; d > 0 {
		g.failedUntil = n.now.Add(d)
	}
	n.recheck()
}

// failureLasts says how long a failure keeps the group off this node.
func (n *Node) failureLasts(g *group) string {
	if g.failedUntil.IsZero() {
		return "until hbd cleanup " + g.key
	}
	return fmt.Sprintf("for %s (failure_timeout), or until hbd cleanup %s", g.failedUntil.Sub(n.now).Round(time.Millisecond), g.key)
}

// groupFailed: the daemon's monitor gave a held group up.
func (n *Node) groupFailed(e GroupFailure) {
	g := n.groupByKey(e.Group)
	if g == nil {
		n.logf(LevelWarn, "Failure of unknown resource group %s ignored (%s)", e.Group, e.Detail)
		return
	}
	detail := e.Detail
	if detail == "" {
		detail = "monitor failed"
	}
	switch g.state {
	case GroupRunning, GroupStarting, GroupStopping:
	default:
		n.logf(LevelWarn, "Failure of resource group %s ignored: it is %s here (%s)", g.key, g.state, detail)
		return
	}
	g.lastErr = detail
	n.recordFailure(g)
	n.logf(LevelError, "Resource group %s failed here (%s): releasing it; this node will not take it back %s", g.key, detail, n.failureLasts(g))
	if g.state == GroupRunning {
		// At once, and without a drain, during a graceful stop too: the
		// stop releases one group at a time, and a failed service must
		// not keep its address until its turn comes.
		n.stopGroup(g)
	}
	// Starting: released once the start has ended (reconcile); stopping:
	// the stop under way releases it.
}

// expireFailures forgets failures whose failure_timeout has passed.
func (n *Node) expireFailures() {
	for _, g := range n.res.groups {
		if !g.failed || g.failedUntil.IsZero() || n.now.Before(g.failedUntil) {
			continue
		}
		g.failed = false
		g.failedUntil = time.Time{}
		if g.state == GroupFailed {
			n.setState(g, GroupStopped)
		}
		n.logf(LevelInfo, "Failure of resource group %s here expired (failure_timeout): it may run here again", g.key)
		n.recheck()
	}
}

// failbackHeld: the rule gives running group g to node to, its preferred
// node, only because auto_failback prefers it (this node would keep it
// otherwise): a failback. It waits until that node has been up and joined
// (announced its groups) for failback_delay; the plan is logged once with
// its countdown.
func (n *Node) failbackHeld(g *group, to string) bool {
	if moveTo, _ := n.sets.move(g.key); moveTo == to || to != g.pref || n.cfg.AutoFailback == config.FailbackOff || !n.willing(n.name, g) {
		g.failbackAt = time.Time{}
		return false
	}
	p := n.peerByName(to)
	if p == nil {
		return false
	}
	due := p.rsc.since.Add(n.cfg.FailbackDelay)
	if !n.now.Before(due) {
		g.failbackAt = time.Time{}
		return false
	}
	if !g.failbackAt.Equal(due) {
		g.failbackAt = due
		n.logf(LevelInfo, "Failback of %s to %s in %s (run hbd standby on %s to cancel)", g.key, to, due.Sub(n.now).Round(time.Millisecond), to)
	}
	return true
}
