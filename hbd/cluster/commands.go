package cluster

import (
	"fmt"
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
	case CmdSettingsClearOthers:
		n.clearOthers()
	default:
		n.settingsCommand(c)
	}
}

// settingsCommand changes a cluster-wide setting (settings.go), unless
// its name is unknown or the settings have no room for it
// (settingsroom.go): then it logs why and changes nothing.
func (n *Node) settingsCommand(c Command) {
	kind, name, value, err := n.settingOf(c)
	if err != nil {
		n.logf(LevelError, "%v", err)
		return
	}
	s := n.nextSetting(kind, name, value)
	if err := n.settingFits(s); err != nil {
		n.logf(LevelError, "Operator: %s %v", s.describe(), err)
		return
	}
	n.changeSetting(s)
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
