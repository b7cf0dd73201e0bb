package cluster

import "time"

func (n *Node) probeGroups() {
	for _, g := range n.res.groups {
		n.setState(g, GroupProbing)
		n.out = append(n.out, ProbeGroup{Group: g.key, Spec: g.spec})
	}
}

// bootReleased is true when every group was probed and every group found
// running was stopped: only then does the node join the cluster.
func (n *Node) bootReleased() bool {
	for _, g := range n.res.groups {
		if g.state == GroupProbing || g.bootRelease && g.state == GroupStopping {
			return false
		}
	}
	return true
}

func (n *Node) joinedCluster() {
	n.recheck()
	if len(n.res.groups) == 0 {
		return
	}
	n.res.joined = true
	n.announce("")
}

func (n *Node) opDone(e OpDone) {
	n.recheck()
	g := n.groupByKey(e.Group)
	if g == nil {
		n.logf(LevelWarn, "Result of %s for unknown resource group %s ignored", e.Op, e.Group)
		return
	}
	detail := e.Detail
	if detail == "" {
		detail = e.Result.String()
	}
	defer n.settleDefinition(g)
	switch e.Op {
	case OpProbe:
		if g.state != GroupProbing {
			return
		}
		defer func() { g.probeNew = false }()
		switch e.Result {
		case ResultStopped:
			n.setState(g, GroupStopped)
		case ResultRunning:
			if g.probeNew {
				n.logf(LevelWarn, "Resource group %s, new in the configuration, is running here already: releasing it before the rule places it", g.key)
				g.bootRelease = true
				n.stopGroup(g)
				break
			}
			n.logf(LevelWarn, "Resource group %s is running, but this node did not start it (its daemon was restarted?): releasing it before joining the cluster", g.key)
			g.bootRelease = true
			n.stopGroup(g)
		default:
			n.logf(LevelError, "Status of resource group %s unknown (%s): stopping it before joining the cluster", g.key, detail)
			g.bootRelease = true
			n.stopGroup(g)
		}
	case OpStart:
		if g.state != GroupStarting {
			return
		}
		why, takeover := g.abandoning, g.takeover
		g.takeover, g.abandoning = false, ""
		switch e.Result {
		case ResultAbandoned:
			n.startAbandoned(g, why, takeover)
		case ResultOK:
			if why != "" {
				n.logf(LevelInfo, "%s of resource group %s not abandoned: its start script had begun when %s", startWord(takeover), g.key, why)
			}
			n.setState(g, GroupRunning)
			n.tookOver(g)
			n.watch(g)
			// g.standby stays: an operator's standby that came while the
			// group was starting is honoured once it runs.
			g.lastErr = ""
		case ResultStopFailed:
			g.lastErr = detail
			n.setState(g, GroupStopFailed)
			n.logf(LevelCrit, "Resource group %s failed to start and its rollback failed (%s): it may still run here; no node will start it until an operator runs hbd cleanup", g.key, detail)
		default:
			g.lastErr = detail
			n.recordFailure(g)
			n.setState(g, GroupFailed)
			n.logf(LevelError, "Resource group %s failed to start here (%s): not retried on this node %s; another node may take it", g.key, detail, n.failureLasts(g))
		}
	case OpStop:
		if g.state != GroupStopping {
			return
		}
		if e.Result == ResultOK {
			n.setState(g, GroupStopped)
			if g.failed {
				n.setState(g, GroupFailed) // released after GroupFailed
			}
			if g.bootRelease && !g.probeNew && !n.res.joined {
				n.logf(LevelInfo, "Resource group %s released before joining", g.key)
			}
		} else {
			g.lastErr = detail
			n.setState(g, GroupStopFailed)
			n.logf(LevelCrit, "Resource group %s failed to stop (%s): it may still run here; no node will start it until an operator runs hbd cleanup", g.key, detail)
		}
		g.bootRelease = false
		g.yielding = false
	}
}

// startGroup starts g here; from are the peers it is taken over from
// (StartGroup.From).
func (n *Node) startGroup(g *group, from []string) {
	// This node now holds g: a standby flag it had for g is spent (it
	// took g because no other node would). Kept, it would make this node
	// unwilling to keep g, so the preferred node's return would move g
	// back at once, past failback_delay, and that node's own standby
	// would find nobody willing and be ignored. A standby that comes
	// while g is starting is still honoured once it runs (opDone).
	g.standby = false
	g.prepared = ""
	g.takeover, g.abandoning = len(from) > 0, ""
	n.unwatch(g)
	n.setState(g, GroupStarting)
	n.out = append(n.out, StartGroup{Group: g.key, Spec: g.spec, From: from})
}

// stopGroup releases g here at once (StopGroup without a drain).
func (n *Node) stopGroup(g *group) { n.release(g, 0, "") }

// handOverGroup releases g here as planned: its addresses may drain
// for drain_time (StopGroup.Drain) and be handed over to the live peer
// that takes g (StopGroup.Taker). Not a group that failed here, nor
// without quorum: a graceful stop or a reload may come upon either, and
// those releases are at once (groupFailed, checkQuorum).
func (n *Node) handOverGroup(g *group) {
	if g.failed || !n.hasQuorum() {
		n.release(g, 0, "")
		return
	}
	n.release(g, n.cfg.DrainTime, n.taker(g))
}

// taker is the live peer the placement rule gives g to once this node
// no longer holds it, "" when none: the rule answers this node itself
// (it stays eligible in a standby nobody else can take), or nobody, or
// g was removed from the configuration (no node starts it again).
// Called before the release's state change, from a view in which this
// node still holds g; a graceful stop's node is not active in it, so
// the rule looks past it already.
func (n *Node) taker(g *group) string {
	if g.removed {
		return ""
	}
	if d := n.desired(g); d != n.name {
		return d
	}
	return ""
}

func (n *Node) release(g *group, drain time.Duration, taker string) {
	n.unwatch(g)
	n.setState(g, GroupStopping)
	n.out = append(n.out, StopGroup{Group: g.key, Spec: g.spec, Drain: drain, Taker: taker})
}

// watch has the daemon keep a group that now runs here (WatchGroup), with
// the definition it was started with and the monitor lines of the
// configuration in force.
func (n *Node) watch(g *group) {
	g.watched = true
	n.out = append(n.out, WatchGroup{Group: g.key, Spec: g.spec, Monitors: n.cfg.GroupMonitors(g.key)})
}

// unwatch ends the watch of a group before another operation of it runs
// (UnwatchGroup).
func (n *Node) unwatch(g *group) {
	if !g.watched {
		return
	}
	g.watched = false
	n.out = append(n.out, UnwatchGroup{Group: g.key})
}
