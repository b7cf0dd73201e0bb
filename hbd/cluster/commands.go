package cluster

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// ParseWhich checks the argument of standby and takeover (hb_standby,
// hb_takeover, and the rsc_hold of their messages): all, foreign,
// failback or local, in any case, "" meaning all. It returns the class in
// rsc_hold's words, relative to the node it is about: HoldAll, HoldForeign
// (also for failback) or HoldLocal. The daemon, the CLI and the core all
// check it here.
func ParseWhich(w string) (string, error) {
	switch strings.ToLower(strings.TrimSpace(w)) {
	case "", HoldAll:
		return HoldAll, nil
	case HoldForeign, "failback":
		return HoldForeign, nil
	case HoldLocal:
		return HoldLocal, nil
	}
	return "", fmt.Errorf("unknown resource class %q: want all, foreign, local or failback", w)
}

// normWhich is ParseWhich for the core's own use: ok false when w is no
// class.
func normWhich(w string) (string, bool) {
	which, err := ParseWhich(w)
	return which, err == nil
}

// inClass says whether g is in class which relative to node.
func inClass(g *group, which, node string) bool { return InClass(which, g.pref, node) }

// InClass says whether a group whose preferred node is pref is in class
// which (a ParseWhich result) relative to node: every group for HoldAll,
// those node prefers for HoldLocal, the others for HoldForeign.
func InClass(which, pref, node string) bool {
	switch which {
	case HoldAll:
		return true
	case HoldLocal:
		return pref == node
	case HoldForeign:
		return pref != node
	}
	return false
}

func (n *Node) command(c Command) {
	n.recheck()
	switch c.Kind {
	case CmdStandby, CmdTakeover:
		which, ok := normWhich(c.Which)
		if !ok {
			n.logf(LevelError, "%s: unknown resource class [%s] (all, foreign, failback or local)", c.Kind, c.Which)
			return
		}
		if len(n.res.groups) == 0 {
			return
		}
		if !n.res.joined || n.res.stopping || n.livePeers() == 0 {
			n.logf(LevelWarn, "%s [%s] ignored: no other active node, or this node has not joined", c.Kind, which)
			return
		}
		if c.Kind == CmdStandby {
			n.logf(LevelInfo, "Going standby [%s].", which)
			n.goStandby(which, n.name)
			return
		}
		n.logf(LevelInfo, "Taking over [%s] resources from the other nodes (hb_takeover).", which)
		for _, g := range n.res.groups {
			if inClass(g, which, n.name) {
				g.standby = false
			}
		}
		m := n.newMessage()
		m.Set(wire.FType, wire.THBTakeover)
		m.Set(wire.FRscHold, which)
		n.sendMessage(m)
	case CmdCleanup:
		for _, g := range n.res.groups {
			if c.Which != "" && c.Which != HoldAll && c.Which != g.key {
				continue
			}
			switch {
			case g.state == GroupStopFailed:
				n.logf(LevelInfo, "cleanup: stopping resource group %s again", g.key)
				n.stopGroup(g)
			case g.failed:
				n.logf(LevelInfo, "cleanup: resource group %s may start here again", g.key)
				g.failed = false
				g.failedUntil = time.Time{}
				if g.state == GroupFailed {
					n.setState(g, GroupStopped)
				}
			}
			g.failCount = 0
		}
	case CmdNodeFenced:
		n.operatorFenced(c.Node)
	default:
		n.settingsCommand(c)
	}
}

// settingsCommand changes a cluster-wide setting (settings.go). The
// daemon has checked the names; the core checks them again, as a command
// may race a reload.
func (n *Node) settingsCommand(c Command) {
	switch c.Kind {
	case CmdNodeStandby, CmdNodeOnline:
		node := c.Node
		if node == "" {
			node = n.name
		}
		if !slices.Contains(n.cfg.Nodes, node) {
			n.logf(LevelError, "%s: unknown node %s", c.Kind, node)
			return
		}
		value := "" // online
		if c.Kind == CmdNodeStandby {
			value = "1"
		}
		n.changeSetting(SettingStandby, node, value)
		return
	}
	g := n.groupByKey(c.Which)
	if g == nil || g.removed {
		n.logf(LevelError, "%s: unknown resource group %s", c.Kind, c.Which)
		return
	}
	switch c.Kind {
	case CmdGroupDisable:
		n.changeSetting(SettingDisabled, g.key, "1")
	case CmdGroupEnable:
		n.changeSetting(SettingDisabled, g.key, "")
	case CmdGroupClear:
		n.changeSetting(SettingMove, g.key, "")
	case CmdGroupMove:
		if c.Node != "" {
			if !slices.Contains(n.cfg.Nodes, c.Node) {
				n.logf(LevelError, "%s: unknown node %s", c.Kind, c.Node)
				return
			}
			n.changeSetting(SettingMove, g.key, ">"+c.Node)
			return
		}
		hs := n.holders(g)
		if len(hs) == 0 {
			n.logf(LevelError, "%s %s: no node holds it; name the node to move it to", c.Kind, g.key)
			return
		}
		n.changeSetting(SettingMove, g.key, "!"+hs[0])
	default:
		n.logf(LevelError, "unknown command %d", int(c.Kind))
	}
}

// goStandby marks the groups in class which (relative to node rel) as
// given away by this node; reconcile hands over those it holds.
func (n *Node) goStandby(which, rel string) {
	for _, g := range n.res.groups {
		if inClass(g, which, rel) {
			g.standby = true
		}
	}
	n.res.pendingWhy = which
	if rel != n.name {
		n.res.pendingWhy = ""
	}
}
