package cluster

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// Reconfigure is a new, validated configuration (a reload: SIGHUP or
// edited files). The daemon sends it after it has parsed and checked the
// new files, and swaps keys, media and logging itself. The core applies
// only the difference (doc.go, "Live reconfiguration"); this node's name
// cannot change (the event is refused with an ERROR line).
type Reconfigure struct {
	Now    time.Time
	Config *config.Config
}

func (e Reconfigure) at() time.Time { return e.Now }

// reconfigure applies a new configuration.
func (n *Node) reconfigure(e Reconfigure) {
	c := e.Config
	if c == nil {
		return
	}
	if err := checkConfig(c, n.name); err != nil {
		n.logf(LevelError, "Reload refused: %v; keeping the running configuration", err)
		return
	}
	n.recheck()
	before := n.res.groups // (apply builds a new slice)
	n.apply(c)
	if n.pruneSettings() > 0 { // a removed peer acknowledges nothing more
		n.settingsChanged()
	}
	n.askAgain() // while it waits for repnodes: the media may have been fixed
	n.res.reloaded = true
	n.res.reloads++
	n.rekeyPeers(before)
	n.logf(LevelInfo, "New configuration in force (%d node(s), %d resource group(s))", len(c.Nodes), len(c.Groups))
}

// CheckConfig says why c cannot be this node's new configuration (nil if
// it can): a Reconfigure with it would be refused. The daemon asks before
// it swaps anything of a reload in, so that a reload applies whole or not
// at all.
func (n *Node) CheckConfig(c *config.Config) error {
	return checkConfig(c, n.name)
}

// checkConfig says why c cannot be this node's configuration: its name is
// not name (it cannot change), it does not list this node, or its
// timings are incomplete or inconsistent.
func checkConfig(c *config.Config, name string) error {
	if c.ThisNode != name {
		return fmt.Errorf("this node's name cannot change (%s -> %s)", name, c.ThisNode)
	}
	if !slices.Contains(c.Nodes, name) {
		return fmt.Errorf("the new configuration does not list this node (%s) in its node lines", name)
	}
	return c.CheckTimings()
}

// apply makes c the configuration in force. New applies the first one to
// an empty node; reconfigure every later one, whose changes are logged.
func (n *Node) apply(c *config.Config) {
	old := n.cfg
	n.cfg = c
	n.setsRoomOK = false
	n.applyTimings(old)
	n.applyNodes(old == nil)
	n.applyLinks()
	n.applyGroups(old == nil)
}

// applyTimings takes the new keepalive, deadtime, warntime and initdead at
// once, without a pause in heartbeats or a false death: the next status
// goes out no later than one new keepalive from now, and a shorter
// deadtime applies only after one old deadtime (peers reload too, and
// until they do they send at their old rate). With quorum, a longer
// deadtime counts for the quorum only once the peers have heard it
// (holdLongerDeadtime).
func (n *Node) applyTimings(old *config.Config) {
	c := n.cfg
	oldKA, oldDT := n.keepalive, n.deadtime
	oldEff := n.effectiveDeadtime()
	n.keepalive, n.deadtime, n.warntime, n.initdead = c.Keepalive, c.Deadtime, c.Warntime, c.Initdead
	n.ttl = len(c.Nodes) + c.Hopfudge
	if next := n.now.Add(n.keepalive); next.Before(n.nextStatus) {
		n.nextStatus = next
	}
	if n.deadtime < oldDT {
		floor := oldDT
		if n.now.Before(n.dtFloorUntil) {
			floor = max(floor, n.dtFloor)
		}
		n.dtFloor, n.dtFloorUntil = floor, n.now.Add(floor)
	}
	if old == nil {
		return // the first configuration: nothing changed
	}
	n.holdLongerDeadtime(oldEff)
	n.quorumWaitsFollow()
	if oldKA != n.keepalive || oldDT != n.deadtime || old.Warntime != c.Warntime || old.Initdead != c.Initdead {
		n.logf(LevelInfo, "Timings now: keepalive %d ms, warntime %d ms, deadtime %d ms, initdead %d ms", n.keepalive.Milliseconds(), n.warntime.Milliseconds(), n.deadtime.Milliseconds(), n.initdead.Milliseconds())
	}
	if old.AutoFailback != c.AutoFailback {
		n.logf(LevelInfo, "auto_failback now %s", c.AutoFailback)
	}
}

// effectiveDeadtime is the deadtime in force: the configured one, or the
// longer old one during a reload's transition. Its status announces it
// (hbd_dt, when it is not the dt it says).
func (n *Node) effectiveDeadtime() time.Duration {
	if n.now.Before(n.dtFloorUntil) && n.dtFloor > n.deadtime {
		return n.dtFloor
	}
	return n.deadtime
}

// applyNodes forgets removed peers and expects new ones (declared dead
// initdead from now if never heard). first: the node's first
// configuration (every peer is new; initdead counts from the boot).
func (n *Node) applyNodes(first bool) {
	var nl strings.Builder
	keep := n.peers[:0]
	for _, p := range n.peers {
		if slices.Contains(n.cfg.Nodes, p.name) {
			keep = append(keep, p)
			continue
		}
		n.logf(LevelInfo, "Node %s removed from the configuration: forgotten", p.name)
		n.peerRemoved(p)
	}
	n.peers = keep
	for _, name := range n.cfg.Nodes {
		nl.WriteString(name + " ")
		if name == n.name || n.peerByName(name) != nil {
			continue
		}
		p := &peer{name: name, ackTrigger: uint64(hash32(name, n.name) % AckEvery)}
		if !first {
			n.logf(LevelInfo, "Node %s added to the configuration: expecting it", name)
			p.expectFrom = n.now
		}
		n.peers = append(n.peers, p)
		n.peerAdded(p)
	}
	// Peers in ha.cf order (status, and the order reqnodes asks them).
	slices.SortStableFunc(n.peers, func(a, b *peer) int {
		return slices.Index(n.cfg.Nodes, a.name) - slices.Index(n.cfg.Nodes, b.name)
	})
	n.nodeList = nl.String()
}

// applyLinks keeps each peer's links that are still media, adds new ones.
func (n *Node) applyLinks() {
	var names []string
	for _, m := range n.cfg.Media {
		if !slices.Contains(names, m.Name()) {
			names = append(names, m.Name())
		}
	}
	for _, p := range n.peers {
		var ls []*link
		for _, name := range names {
			i := slices.IndexFunc(p.links, func(l *link) bool { return l.name == name })
			if i >= 0 {
				ls = append(ls, p.links[i])
			} else {
				ls = append(ls, &link{name: name})
			}
		}
		p.links = ls
	}
}

// applyGroups: a new group is added (probed first: it may already run
// here), a removed one released if held here and then forgotten, a changed
// one (other resources) stopped with its old definition and started again
// with the new one by whoever the rule chooses; a new preferred node only
// moves it; an untouched group is not touched. first: the node's first
// configuration (nothing is logged; the boot probes every group).
func (n *Node) applyGroups(first bool) {
	r := &n.res
	if r.stopping {
		n.logf(LevelWarn, "Reload during shutdown: resource groups left as they are")
		return
	}
	var out []*group
	seen := make(map[string]bool)
	for _, cg := range n.cfg.Groups {
		key := cg.Key()
		if key == "" || seen[key] {
			continue
		}
		seen[key] = true
		g := n.groupByKey(key)
		if g == nil {
			g = &group{key: key, pref: cg.Preferred, spec: cg, state: GroupStopped, since: n.now}
			if !first {
				n.logf(LevelInfo, "Resource group %s added (preferred node %s)", key, cg.Preferred)
			}
			if n.booted {
				n.setState(g, GroupProbing)
				g.probeNew = true
				n.out = append(n.out, ProbeGroup{Group: g.key, Spec: g.spec})
			}
			out = append(out, g)
			continue
		}
		if g.removed {
			g.removed = false
			n.logf(LevelInfo, "Resource group %s is back in the configuration", key)
		}
		if g.pref != cg.Preferred {
			n.logf(LevelInfo, "Resource group %s: preferred node %s -> %s", key, g.pref, cg.Preferred)
			g.pref = cg.Preferred
		}
		switch {
		case config.SameDefinition(g.spec, cg):
			g.spec, g.next = cg, nil
		case g.holds() || g.state == GroupProbing:
			spec := cg
			g.next = &spec
			n.logf(LevelInfo, "Resource group %s changed: stopping its old definition here before the new one starts", key)
		default:
			n.logf(LevelInfo, "Resource group %s changed", key)
			n.renew(g, cg)
		}
		out = append(out, g)
	}
	for _, g := range r.groups {
		if seen[g.key] {
			continue
		}
		if g.holds() || g.state == GroupProbing {
			if !g.removed {
				n.logf(LevelInfo, "Resource group %s removed from the configuration: releasing it here", g.key)
			}
			g.removed, g.next = true, nil
			out = append(out, g)
			continue
		}
		n.logf(LevelInfo, "Resource group %s removed from the configuration", g.key)
	}
	hadNone := len(r.groups) == 0
	r.groups = out
	if len(r.groups) > 0 && n.state == StateActive && !r.joined {
		r.joined = true // the first group of a node that had none
	}
	if hadNone && len(r.groups) > 0 {
		n.guardGrouplessDeaths()
	}
}

// guardGrouplessDeaths: the first groups of a node that had none. A peer
// that died while it had none was neither fenced (sbPeerDead) nor waited
// for (fenceDeath), which only matter to a node with groups; it may still
// run these groups (its own configuration had them): it is fenced or
// waited for now, as at its death.
func (n *Node) guardGrouplessDeaths() {
	for _, p := range n.peers {
		if !p.deadGroupless {
			continue
		}
		p.deadGroupless = false
		if p.state != StateDead {
			continue
		}
		n.sbPeerDead(p)
		n.fenceDeath(p, false) // (deadGroupless: it had not given up everything)
	}
}

// renew makes the group's new definition current (it does not run here):
// a failure of the old definition is forgotten.
func (n *Node) renew(g *group, cg config.Group) {
	g.spec, g.next = cg, nil
	g.failed = false
	g.failedUntil = time.Time{}
	if g.state == GroupFailed {
		n.setState(g, GroupStopped)
	}
}

// settleDefinition runs when a group no longer runs here: a removed group
// is forgotten, a changed one takes its new definition.
func (n *Node) settleDefinition(g *group) {
	if g.holds() || g.state == GroupProbing {
		return
	}
	if g.removed {
		n.logf(LevelInfo, "Resource group %s released and forgotten", g.key)
		n.res.groups = slices.DeleteFunc(n.res.groups, func(x *group) bool { return x == g })
		return
	}
	if g.next != nil {
		n.logf(LevelInfo, "Resource group %s: its new definition may start now", g.key)
		n.renew(g, *g.next)
	}
}

// reconcileRetired stops the groups that run here with a definition that
// is no longer wanted (removed or changed); it runs whether or not this
// node has joined.
func (n *Node) reconcileRetired() {
	for _, g := range n.res.groups {
		if (g.removed || g.next != nil) && g.state == GroupRunning {
			n.handOverGroup(g)
		}
	}
}
