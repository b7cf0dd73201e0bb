package cluster

import "strings"

func (n *Node) beginStop() {
	r := &n.res
	r.dirty = true
	if r.stopping {
		return
	}
	if len(r.groups) == 0 {
		n.stop()
		n.out = append(n.out, Exit{})
		return
	}
	r.stopping = true
	r.txn = nil
	n.logf(LevelInfo, "Heartbeat shutdown in progress.")
}

func (n *Node) reconcileStop() {
	r := &n.res
	// Cut off from the majority, it releases everything at once, as
	// outside a stop: the majority takes its groups two deadtimes after
	// it falls silent, whatever it announced.
	n.checkQuorum()
	busy, stopping := false, false
	for _, g := range r.groups {
		stopping = stopping || g.state == GroupStopping
	}
	// One group at a time, the last of haresources first, as Heartbeat's
	// ResourceManager gives them up; but a group a live peer holds too (a
	// healed partition) is released at once, beside the one in turn: the
	// peer keeps its copy, and two holders of one address cost more than
	// a slower stop. In turn, it would wait for every stop script before
	// it.
	n.keepView()
	defer n.forgetView()
	for i := len(r.groups) - 1; i >= 0; i-- {
		g := r.groups[i]
		switch g.state {
		case GroupRunning:
			if !r.giveUpLog {
				r.giveUpLog = true
				n.logf(LevelInfo, "Giving up all HA resources.")
			}
			if n.holderCount(g) > 1 {
				n.logf(LevelWarn, "Resource group %s is also held by %s: releasing it here at once (partition healed?)", g.key, strings.Join(n.otherHolders(g), " "))
				g.yielding = true
				n.stopGroup(g)
				busy = true
				continue
			}
			if !stopping {
				n.handOverGroup(g)
				stopping = true
			}
			busy = true
		case GroupProbing, GroupStarting, GroupStopping:
			busy = true
		case GroupStopFailed:
			if !r.stuckLog {
				r.stuckLog = true
				n.logf(LevelCrit, "Shutdown waits: resource group %s failed to stop and may still run; run hbd cleanup %s (or stop it by hand, then cleanup)", g.key, g.key)
			}
			busy = true
		}
	}
	if busy {
		if r.joined && n.rscChanged() {
			n.announce("") // peers learn of each release at once
		}
		return
	}
	n.logf(LevelInfo, "All HA resources relinquished.")
	if r.joined {
		n.announce("shutdown")
	}
	n.stop()
	n.logf(LevelInfo, "%s Heartbeat shutdown complete.", n.name)
	n.out = append(n.out, Exit{})
}
