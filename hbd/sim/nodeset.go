package sim

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// Reloads that change the node set (Config.NodeChanges, Config.Spare).
// The last Spare nodes of the world are in no configuration at first and
// do not run. A node-set change is what an operator does:
//
//   - add a node: every member's ha.cf gets the new node line (a rolling
//     reload within half a deadtime), the new node is configured the same
//     way and starts at a random moment up to two deadtimes later (before
//     or after the members expect it); some groups get it as their
//     preferred node;
//   - remove a node R: the groups R prefers get another preferred node; a
//     random part of the other members reload without R first, the rest
//     one to three deadtimes later. R is stopped gracefully at once (the
//     documented way: stop it, then remove it), or its machine crashes
//     during the change, or it is stopped gracefully only after every
//     other member removed it (it ran, removed, for a while). A removed
//     node never starts again unless a later change adds it back.
//
// While the configurations disagree, the promises are the weaker ones of
// docs/split-brain.md ("Adding and removing nodes"): Exclusive holds
// between two nodes whose configurations name each other (a node a
// configuration no longer names is not heard by it, so a removed node
// that still runs may hold what the others take over; the zero tolerance
// of profile safe applies only between nodes that name each other); and
// CheckJoined: nodes that name each other and can talk hear each other,
// in a bound. Once the change is done and the removed node stopped, the
// end-of-run checks (Available, Preferred) hold as in every run: the
// removed node's groups are held by exactly one member.

// CheckJoined: two running nodes (not stopping) whose configurations in
// force name each other and whose network connects them both ways see
// each other alive (neither dead nor unknown) within JoinBound of the
// moment all of that became true: an added node is heard, and no node is
// left outside the cluster by a change of the node set.
const CheckJoined = "joined"

// Node-set events.
const (
	evNodeSet   kind = 300 + iota // the operator decides a change
	evNodePhase                   // e.part's ha.cf files get the node lines of e.cfg's reload
	evNodeStop                    // e.node stops: gracefully (e.boot == 1) or its machine crashes
)

type nodeSet struct {
	member  []bool     // named by the newest node lines
	lists   [][]string // node i's node line, as last edited
	pending []*config.Config
	retired []bool // removed: stays down
	// listedAt[x][y]: since when x's configuration in force names y.
	listedAt [][]time.Time
	// since[a][b] (a < b): since when CheckJoined's premises hold.
	since [][]time.Time
	told  [][]bool
}

// JoinBound is CheckJoined's bound: the first status after the premises
// hold, and the ones lost after it (MaxLostInARow), each a keepalive
// apart, plus two delays.
func (c Config) JoinBound() time.Duration {
	c = c.widest()
	lost := c.MaxLostInARow
	if lost < 0 {
		lost = 3
	}
	return time.Duration(lost+3)*c.Keepalive + 2*c.DelayMax
}

// setupNodeSet: the first Nodes-Spare nodes are the members; the spares
// wait to be added. Nothing is drawn without NodeChanges.
func (w *world) setupNodeSet(names []string, last time.Duration) {
	c := w.c
	if c.NodeChanges <= 0 {
		return
	}
	members := names[:c.Nodes-c.Spare]
	ns := &nodeSet{}
	for i := range w.nodes {
		ns.member = append(ns.member, i < len(members))
		ns.lists = append(ns.lists, slices.Clone(members))
		w.cfgs[i].Nodes = slices.Clone(members)
		ns.pending = append(ns.pending, w.cfgs[i])
		ns.retired = append(ns.retired, false)
		ns.listedAt = append(ns.listedAt, make([]time.Time, len(w.nodes)))
		ns.since = append(ns.since, make([]time.Time, len(w.nodes)))
		ns.told = append(ns.told, make([]bool, len(w.nodes)))
	}
	w.ns = ns
	for k := 0; k < c.NodeChanges; k++ {
		w.push(&event{at: Epoch.Add(w.randDur(c.Initdead, last)), kind: evNodeSet})
	}
}

// names: node i's name is names()[i].
func (w *world) names() []string {
	names := make([]string, len(w.nodes))
	for i, n := range w.nodes {
		names[i] = n.name
	}
	return names
}

// randMember draws a node of the newest configuration.
func (w *world) randMember() int {
	if w.ns == nil {
		return w.rng.IntN(w.c.Nodes)
	}
	var m []int
	for i, ok := range w.ns.member {
		if ok {
			m = append(m, i)
		}
	}
	return m[w.rng.IntN(len(m))]
}

// listed reports whether node x's configuration in force names node y.
func (w *world) listed(x, y int) bool {
	return w.ns == nil || slices.Contains(w.cfgs[x].Nodes, w.nodes[y].name)
}

// relistedAfter: x's configuration named y again after t, so x's core
// forgot what it had heard of y before (a reload that removes a node
// forgets it).
func (w *world) relistedAfter(x, y int, t time.Time) bool {
	return w.ns != nil && w.ns.listedAt[x][y].After(t)
}

func (w *world) nodeSetEvent(e *event) {
	switch e.kind {
	case evNodeSet:
		w.nodeSetChange()
	case evNodePhase:
		w.nodeSetPhase(e.part, e.note)
	case evNodeStop:
		w.nodeStop(e.node, e.boot == 1)
	}
}

// nodeSetChange adds a node (one that is out and down) or removes a
// member (of three or more).
func (w *world) nodeSetChange() {
	var members, outs []int
	for i, n := range w.nodes {
		if w.ns.member[i] {
			members = append(members, i)
		} else if !n.alive {
			outs = append(outs, i)
		}
	}
	add := len(outs) > 0 && (len(members) <= 2 || w.rng.IntN(2) == 0)
	if !add && len(members) <= 2 {
		return
	}
	w.disrupted()
	if add {
		w.addNode(outs[w.rng.IntN(len(outs))], members)
	} else {
		w.removeNode(members[w.rng.IntN(len(members))], members)
	}
}

// memberNames is the node line of the newest configuration.
func (w *world) memberNames() []string {
	var names []string
	for i, n := range w.nodes {
		if w.ns.member[i] {
			names = append(names, n.name)
		}
	}
	return names
}

func (w *world) addNode(a int, members []int) {
	c := w.c
	w.ns.member[a], w.ns.retired[a] = true, false
	for g := range w.rs.keys {
		if w.rng.IntN(3) == 0 {
			w.rs.prefs[g] = a
		}
	}
	names := w.memberNames()
	part := make([]bool, len(w.nodes))
	for _, i := range append(members, a) {
		w.ns.lists[i] = names
		part[i] = true
	}
	start := w.now.Add(w.randDur(0, 2*c.Deadtime))
	w.res.NodesAdded++
	w.trace("NODESET add %s (starts at +%s) nodes=[%s]", w.nodes[a].name, fmtDur(start.Sub(Epoch)), strings.Join(names, " "))
	w.nodeSetPhase(part, "add "+w.nodes[a].name)
	w.push(&event{at: start, kind: evRestart, node: a})
}

func (w *world) removeNode(r int, members []int) {
	c := w.c
	w.ns.member[r], w.ns.retired[r] = false, true
	var others []int
	for _, i := range members {
		if i != r {
			others = append(others, i)
		}
	}
	for g := range w.rs.keys {
		if w.rs.prefs[g] == r {
			w.rs.prefs[g] = others[w.rng.IntN(len(others))]
		}
	}
	names := w.memberNames()
	first, rest := make([]bool, len(w.nodes)), make([]bool, len(w.nodes))
	perm := w.rng.Perm(len(others))
	k := 1 + w.rng.IntN(len(others)-1)
	for j, p := range perm {
		w.ns.lists[others[p]] = names
		if j < k {
			first[others[p]] = true
		} else {
			rest[others[p]] = true
		}
	}
	p1 := w.now.Add(w.randDur(0, c.Deadtime))
	p2 := p1.Add(w.randDur(c.Deadtime, 3*c.Deadtime))
	mode := []string{"stopped first", "crashes during the change", "stopped last"}[w.rng.IntN(3)]
	w.res.NodesRemoved++
	w.trace("NODESET remove %s (%s) nodes=[%s]", w.nodes[r].name, mode, strings.Join(names, " "))
	switch mode {
	case "stopped first":
		w.push(&event{at: w.now, kind: evNodeStop, node: r, boot: 1})
	case "crashes during the change":
		w.push(&event{at: w.now.Add(w.randDur(0, p2.Add(c.Deadtime).Sub(w.now))), kind: evNodeStop, node: r})
	default:
		w.push(&event{at: p2.Add(w.randDur(0, c.Deadtime)), kind: evNodeStop, node: r, boot: 1})
		if w.nodes[r].alive {
			w.res.RemovedRunning++
		}
	}
	w.push(&event{at: p1, kind: evNodePhase, part: first, note: "remove " + w.nodes[r].name + ", first part"})
	w.push(&event{at: p2, kind: evNodePhase, part: rest, note: "remove " + w.nodes[r].name + ", the rest"})
}

// nodeSetPhase: the nodes in part get their node lines (w.ns.lists) in
// a rolling reload within half a deadtime; a node that is down gets the
// files at once, for its next start.
func (w *world) nodeSetPhase(part []bool, what string) {
	w.disrupted()
	w.rs.reloads++
	groups := w.groupsConfig(w.names())
	var who []string
	for i, in := range part {
		if !in {
			continue
		}
		cfg := *w.ns.pending[i]
		cfg.Nodes = slices.Clone(w.ns.lists[i])
		cfg.Groups = append([]config.Group(nil), groups...)
		w.ns.pending[i] = &cfg
		who = append(who, w.nodes[i].name)
		e := &event{at: w.now.Add(w.randDur(0, w.c.Deadtime/2)), kind: evApply, node: i, cfg: &cfg, frun: w.rs.reloads}
		if !w.nodes[i].alive {
			e.at = w.now
			w.apply(e)
			continue
		}
		w.push(e)
	}
	w.trace("NODESET reload #%d (%s) on [%s]", w.rs.reloads, what, strings.Join(who, " "))
}

// nodeStop stops node i: gracefully, or by a machine crash (its scripts
// die with it).
func (w *world) nodeStop(i int, graceful bool) {
	n := w.nodes[i]
	if !n.alive {
		return
	}
	w.disrupted()
	if graceful {
		if n.exiting {
			return
		}
		n.exiting = true
		w.step(i, cluster.Stop{Now: w.clock(i)}, func() string { return "stop (node-set change)" })
		return
	}
	w.trace("%s#%d machine crash (node-set change)", n.name, n.run)
	n.boot++
	for g := range n.gt {
		n.gt[g] = truth{}
	}
	w.down(i)
}

// nodeSetApplied: node i's configuration in force is now cfg (old
// before): the names it did not list before are listed from now on.
func (w *world) nodeSetApplied(i int, old, cfg *config.Config) {
	if w.ns == nil {
		return
	}
	for j, n := range w.nodes {
		if slices.Contains(cfg.Nodes, n.name) && (old == nil || !slices.Contains(old.Nodes, n.name)) {
			w.ns.listedAt[i][j] = w.now
		}
	}
}

// restartAllowed: a removed node stays down, and a node that runs is not
// started twice (a restart pending from before its removal and the one
// of its addition).
func (w *world) restartAllowed(i int) bool {
	return w.ns == nil || !w.ns.retired[i] && !w.nodes[i].alive
}

// deadBound moves CheckDeadInTime's bound for observer x and peer y to no
// earlier than initdead after x's configuration named y.
func (w *world) deadBound(x, y int, bound time.Time) time.Time {
	if w.ns == nil {
		return bound
	}
	wc := w.c.widest()
	if b := w.ns.listedAt[x][y].Add(wc.Initdead + wc.Keepalive); b.After(bound) {
		return b
	}
	return bound
}

// joinPremises: CheckJoined applies to a and b now.
func (w *world) joinPremises(a, b int) bool {
	x, y := w.nodes[a], w.nodes[b]
	return x.alive && y.alive && !x.exiting && !y.exiting && !w.paused(a) && !w.paused(b) &&
		w.listed(a, b) && w.listed(b, a) && w.net.Reaches(a, b) && w.net.Reaches(b, a)
}

func (w *world) checkJoined() {
	if w.ns == nil {
		return
	}
	bound := w.c.JoinBound()
	alive := func(x, y int) bool {
		s, _, ok := w.nodes[x].core.PeerView(w.nodes[y].name)
		return ok && s != cluster.StateDead && s != cluster.StateUnknown
	}
	for a := range w.nodes {
		for b := a + 1; b < len(w.nodes); b++ {
			if !w.joinPremises(a, b) {
				w.ns.since[a][b], w.ns.told[a][b] = time.Time{}, false
				continue
			}
			if w.ns.since[a][b].IsZero() {
				w.ns.since[a][b] = w.now
			}
			if w.ns.told[a][b] || w.now.Sub(w.ns.since[a][b]) <= bound {
				continue
			}
			w.ns.told[a][b] = true // judged once per stretch
			w.res.JoinJudged++
			if !alive(a, b) || !alive(b, a) {
				sa, _, _ := w.nodes[a].core.PeerView(w.nodes[b].name)
				sb, _, _ := w.nodes[b].core.PeerView(w.nodes[a].name)
				w.violate(CheckJoined, fmt.Sprintf("%s sees %s as %q and %s sees %s as %q, %s after they name each other and can talk (bound %s)",
					w.nodes[a].name, w.nodes[b].name, sa, w.nodes[b].name, w.nodes[a].name, sb, fmtDur(w.now.Sub(w.ns.since[a][b])), fmtDur(bound)))
			}
		}
	}
}

// RandomNodeSetConfig is a run of the resource, monitor, safe or
// exclusive generators (one in four each) with changes of the node set
// (withNodeChanges), besides up to two ordinary rolling reloads (not with
// exclusive sets).
func RandomNodeSetConfig(seed uint64) Config {
	r := rand.New(rand.NewPCG(seed, 0x40de5e7))
	gens := []func(uint64) Config{RandomResourceConfig, RandomMonitorConfig, RandomSafeConfig, RandomExclusiveConfig}
	c := gens[r.IntN(len(gens))](seed)
	if !c.Exclusive {
		c.Reloads = r.IntN(3)
		c.ExtraGroups = 2
	}
	return withNodeChanges(c, r)
}

// withNodeChanges is c, quorum off, with one or two spare nodes and one
// to three changes of the node set (nodeset.go), and a run long enough
// for its end to be checked.
func withNodeChanges(c Config, r *rand.Rand) Config {
	c.Quorum = config.QuorumOff
	c.Spare = 1 + r.IntN(2)
	c.Nodes += c.Spare
	c.NodeChanges = 1 + r.IntN(3)
	c.Duration = c.QuietAfter + 6*c.Deadtime + 3*c.DownMax + c.Settle() + c.Keepalive
	return c
}
