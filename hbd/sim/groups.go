package sim

import (
	"fmt"
	"reflect"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// Resource invariants, checked when Config.Groups > 0: Exclusive (two
// nodes that hear each other never both hold a group), Ordered (a group
// starts on one node only after it stopped on the node handing it over),
// Available and Preferred at the end of a quiet run (CheckAvailable,
// CheckPreferred).
//
// The simulation keeps the ground truth of every group on every node:
// "up" from the moment a start script begins until a stop script ends
// successfully (or a failed start has been rolled back). A machine crash
// takes the processes with it (up = false); a daemon kill
// (DaemonKillShare) leaves them running, as kill -9 of Heartbeat does.
//
// A node "holds" a group for these checks when its daemon is alive and the
// group is up there and either this run of the daemon started it or the
// daemon has joined the cluster (state active): processes left over by a
// killed daemon are released before the new run joins, and only count if
// they are still up once it has joined.
//
// A group whose stop failed on a node is not held there for these checks:
// its state is unknown, the core logs CRIT, keeps announcing it as held
// so that nobody starts it, and waits for an operator (the simulation's
// operator runs cleanup a few deadtimes later). It is the one case in
// which hbd cannot promise Exclusive: a leftover found at boot whose stop
// fails while another node already runs the group.
//
// Two nodes "hear each other" when the network connects them and each
// one's core sees the other alive (not dead, not unknown).
const (
	// CheckExclusive: two nodes that hear each other never both hold a
	// group. A duplicate that began while they could not hear each other
	// (a partition: with two nodes and no third party, both sides take the
	// group, and nothing can prevent it) must end within HealBound after
	// they hear each other again: one node releases, the other keeps the
	// group and announces it again (Reannounce). The bound runs once
	// their configurations in force also agree on the node list and the
	// group's preferred node: while a reload is half done each may be the
	// keeper by its own (docs/split-brain.md, "Adding and removing
	// nodes", promises only the weaker then).
	CheckExclusive = "exclusive"
	// CheckOrdered: a group is never started on a node while another node
	// that hears it still holds the group (its stop has not finished).
	CheckOrdered = "ordered"
	// CheckAvailable: at the end of a run whose last disruption (crash,
	// restart, partition, heal, command, failed script) lies at least
	// Settle in the past, and with at least one node alive and joined,
	// every group is held by exactly one node, and that node's core says
	// running — except a group that failed to start on every live node or
	// that is stop-failed somewhere.
	CheckAvailable = "available"
	// CheckPreferred: auto_failback on/legacy: at the end of such a run, a
	// group whose preferred node is alive, joined, not standing by for it
	// and did not fail it, is held by the preferred node. auto_failback
	// off: a joined node that is not stopping never stops a running group
	// unless it stands by for it, or another node holds it too (a heal),
	// or it retries a failed stop: groups do not move while their holder
	// lives.
	CheckPreferred = "preferred"
	// CheckYield: a node that is not stopping releases a group because a
	// peer keeps it (a heal) only to a copy whose start script has begun:
	// when no other node it sees alive holds the group, none of those
	// whose latest announcement it applied lists the group as held may
	// still be reading the statuses of a start of it, a start that may
	// yet be called off (cluster.AbandonStart) and leave the group on no
	// node. (A node it does not know to hold the group does not count: a
	// message still to come, or behind in the backlog of a pause, may
	// say that the copy it yields to is gone and another node starts.)
	CheckYield = "yield"
)

type truth struct {
	up bool
	// reading: a start reads its statuses (Config.StatusMin): its start
	// script has not begun.
	reading    bool
	run        int // the daemon run that started it
	serial     int // the newest operation; older ones end without effect
	stopFailed bool
	// orphan: left running by a killed daemon whose next run's
	// configuration no longer names the group (a reload removed it): no
	// hbd node knows of it; it is out of the checks until started again.
	orphan bool
}

type overlap struct {
	began   time.Time
	hearing bool      // they heard each other when it began
	agreed  time.Time // since when their configurations agree on its keeper (zero: they do not)
	told    bool
}

type resState struct {
	keys      []string // every key a configuration may hold (reload.go)
	prefs     []int    // preferred node of each, in the newest configuration
	inCfg     []bool   // in the newest configuration
	variant   []int    // its resource list's variant (a change restarts it)
	overlaps  map[[3]int]*overlap
	hearSince [][]time.Time
	reloads   int // configurations drawn
	lastDisr  time.Time
	exclTold  bool                // CheckExclusiveSet reported (once a run)
	failback  config.AutoFailback // of the newest configuration
	// forbidden: since when a node holds a group its settings forbid
	// there (zero: reported), settings.go.
	forbidden map[[2]int]time.Time
}

// HealBound is how long a duplicate that began during a partition may
// last after the two nodes hear each other again: the first status after
// the heal and the resource announcements (a keepalive and two delays),
// the resends of lost ones (MaxLostInARow+1 keepalives and two rexmit
// intervals), and the loser's scripts (a start in progress must end
// before the stop: its statuses and two ScriptMax).
func (c Config) HealBound() time.Duration {
	c = c.widest()
	lost := c.MaxLostInARow
	if lost < 0 {
		lost = 3
	}
	return time.Duration(lost+2)*c.Keepalive + 2*c.DelayMax + 2*cluster.RexmitInterval + 2*c.ScriptMax + c.StatusMax
}

// Settle is how long after the last disruption the end-of-run checks
// wait: a restarted node probes and releases (ScriptMin + ScriptMax) and
// may wait initdead to join; a dead holder is noticed after deadtime; a
// failback stops and starts; a failed start moves on; a handoff nobody
// answers is cancelled after deadtime.
func (c Config) Settle() time.Duration {
	c = c.widest()
	return c.Initdead + 3*c.Deadtime + 4*c.ScriptMax + 2*c.StatusMax + 6*c.Keepalive + c.FailureTimeout + c.FailbackDelay + 3*c.Deadtime*time.Duration(btoi(c.Quorum.Enabled(c.Nodes))) + c.safeSettle()
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (w *world) setupGroups(names []string) {
	c := w.c
	if c.Groups <= 0 {
		return
	}
	w.rs.overlaps = make(map[[3]int]*overlap)
	w.rs.failback = c.AutoFailback
	for _, n := range w.nodes {
		n.failback = c.AutoFailback
	}
	w.rs.hearSince = make([][]time.Time, c.Nodes)
	for i := range w.rs.hearSince {
		w.rs.hearSince[i] = make([]time.Time, c.Nodes)
	}
	pool := c.Groups + c.ExtraGroups
	for g := 0; g < pool; g++ {
		key := fmt.Sprintf("IPaddr::10.99.0.%d/24/eth0", 100+g)
		w.rs.keys = append(w.rs.keys, key)
		w.rs.prefs = append(w.rs.prefs, w.rng.IntN(c.Nodes-c.Spare))
		w.rs.inCfg = append(w.rs.inCfg, g < c.Groups)
		w.rs.variant = append(w.rs.variant, 0)
	}
	groups := w.groupsConfig(names)
	for i, cfg := range w.cfgs {
		cfg.Groups = append([]config.Group(nil), groups...)
		cfg.Exclusive = w.exclusiveSets()
		w.nodes[i].gt = make([]truth, pool)
	}
	last := c.Duration
	if c.QuietAfter > 0 {
		last = c.QuietAfter
	}
	for k := 0; k < c.Commands; k++ {
		var cmd cluster.Command
		switch r := w.rng.IntN(10); {
		case r < 5:
			cmd.Kind = cluster.CmdStandby
		case r < 9:
			cmd.Kind = cluster.CmdTakeover
		default:
			cmd.Kind = cluster.CmdCleanup
		}
		if cmd.Kind != cluster.CmdCleanup {
			cmd.Which = []string{"all", "local", "foreign", "failback", ""}[w.rng.IntN(5)]
		}
		w.push(&event{at: Epoch.Add(w.randDur(c.Initdead, last)), kind: evCommand, node: w.rng.IntN(c.Nodes), cmd: cmd})
	}
	for k := 0; k < c.Reloads; k++ {
		w.push(&event{at: Epoch.Add(w.randDur(c.Initdead, last)), kind: evReload})
	}
	for k := 0; k < c.MonitorFailures; k++ {
		w.push(&event{at: Epoch.Add(w.randDur(c.Initdead, last)), kind: evMonitor, node: w.rng.IntN(c.Nodes), group: w.rng.IntN(c.Groups)})
	}
	w.settingsCommands(last)
}

func (w *world) groupIndex(key string) int {
	for i, k := range w.rs.keys {
		if k == key {
			return i
		}
	}
	return -1
}

func (w *world) disrupted() { w.rs.lastDisr = w.now }

// crash ends node i's daemon without a graceful stop: a machine crash,
// or (DaemonKillShare) a kill -9 of the daemon alone.
func (w *world) crash(i int) {
	n := w.nodes[i]
	if w.c.Groups > 0 {
		w.disrupted()
		if w.rng.Float64() < w.c.DaemonKillShare {
			w.trace("%s#%d daemon killed (group processes keep running)", n.name, n.run)
		} else {
			w.trace("%s#%d machine crash", n.name, n.run)
			n.boot++
			for g := range n.gt {
				n.gt[g] = truth{}
			}
		}
	} else {
		w.trace("%s#%d crash", n.name, n.run)
	}
	w.down(i)
}

func (w *world) down(i int) {
	n := w.nodes[i]
	n.alive = false
	n.exiting = false
	n.prepared = nil
	n.pausedUntil, n.resumedAt, n.suspended, n.skew, n.leapt = time.Time{}, time.Time{}, false, 0, 0
	w.push(&event{at: w.now.Add(w.randDur(w.c.DownMin, w.c.DownMax)), kind: evRestart, node: i})
}

func (w *world) resourceAction(i int, a cluster.Action) {
	n := w.nodes[i]
	switch a := a.(type) {
	case cluster.StartGroup:
		g := w.groupIndex(a.Group)
		w.checkSpec(i, a.Group, a.Spec, cluster.OpStart)
		w.res.Starts++
		if spec, ok := n.prepared[a.Group]; ok && reflect.DeepEqual(spec, a.Spec) {
			w.res.PreparedStarts++
		}
		delete(n.prepared, a.Group)
		w.trace("  %s START %s", n.name, a.Group)
		w.checkOrdered(i, g)
		if w.c.SettingsCommands > 0 {
			w.checkSettingsStart(i, g)
		}
		t := &n.gt[g]
		t.serial++
		if w.c.StatusMax > 0 {
			t.reading = true
			w.push(&event{at: w.now.Add(w.randDur(w.c.StatusMin, w.c.StatusMax)), kind: evStartScript, node: i, run: n.run, boot: n.boot, group: g, frun: t.serial})
			break
		}
		w.beginStart(i, g)
	case cluster.AbandonStart:
		g := w.groupIndex(a.Group)
		t := &n.gt[g]
		w.res.Abandons++
		w.trace("  %s ABANDON %s (%s heard again)", n.name, a.Group, a.Peer)
		if !t.reading {
			break // its start script has begun: it runs to its end
		}
		w.res.Abandoned++
		t.reading = false
		t.serial++ // its start script never begins
		w.push(&event{at: w.now, kind: evOpDone, node: i, run: n.run, boot: n.boot, group: g, op: cluster.OpStart, result: cluster.ResultAbandoned, frun: t.serial})
	case cluster.StopGroup:
		delete(n.prepared, a.Group)
		g := w.groupIndex(a.Group)
		w.checkSpec(i, a.Group, a.Spec, cluster.OpStop)
		w.res.Stops++
		if a.Taker != "" {
			w.trace("  %s STOP %s to=%s", n.name, a.Group, a.Taker)
		} else {
			w.trace("  %s STOP %s", n.name, a.Group)
		}
		if !w.retired(i, a.Group, a.Spec) {
			w.checkStaysPut(i, g)
		}
		w.checkYield(i, g)
		t := &n.gt[g]
		t.serial++
		res := cluster.ResultOK
		if w.rng.Float64() < w.c.StopFail {
			res = cluster.ResultStopFailed
		}
		w.push(&event{at: w.now.Add(w.randDur(w.c.ScriptMin, w.c.ScriptMax)), kind: evOpDone, node: i, run: n.run, boot: n.boot, group: g, op: cluster.OpStop, result: res, frun: t.serial})
	case cluster.ProbeGroup:
		g := w.groupIndex(a.Group)
		w.checkSpec(i, a.Group, a.Spec, cluster.OpProbe)
		w.trace("  %s PROBE %s", n.name, a.Group)
		w.push(&event{at: w.now.Add(w.randDur(0, w.c.ScriptMin)), kind: evOpDone, node: i, run: n.run, boot: n.boot, group: g, op: cluster.OpProbe, frun: -1})
	case cluster.PrepareGroup:
		// Not traced: a status read ahead changes nothing the cores see,
		// and the golden traces stay as they were.
		w.res.Prepares++
		if n.prepared == nil {
			n.prepared = make(map[string]config.Group)
		}
		n.prepared[a.Group] = a.Spec
	case cluster.Reannounce:
		w.res.Reannounces++
		w.trace("  %s REANNOUNCE %s", n.name, a.Group)
	case cluster.Exit:
		w.trace("  %s EXIT", n.name)
		w.down(i)
	case cluster.Fence:
		w.fenceAction(i, a)
	case cluster.PersistSettings:
		n.persisted = a.Settings
		w.trace("  %s PERSIST %s", n.name, cluster.FormatSettings(a.Settings))
	}
}

// beginStart: node i's start script of group g begins (the group runs
// from now on); its OpDone comes after [ScriptMin, ScriptMax].
func (w *world) beginStart(i, g int) {
	n := w.nodes[i]
	t := &n.gt[g]
	t.up, t.run, t.stopFailed, t.orphan, t.reading = true, n.run, false, false, false
	res := cluster.ResultOK
	if w.rng.Float64() < w.c.StartFail {
		res = cluster.ResultFailed
	}
	w.push(&event{at: w.now.Add(w.randDur(w.c.ScriptMin, w.c.ScriptMax)), kind: evOpDone, node: i, run: n.run, boot: n.boot, group: g, op: cluster.OpStart, result: res, frun: t.serial})
}

// startScript: a start's statuses are read (Config.StatusMin); its start
// script begins, unless the start was abandoned, the machine crashed
// or the daemon that ran it is gone (its statuses died with it).
func (w *world) startScript(e *event) {
	n := w.nodes[e.node]
	t := &n.gt[e.group]
	if e.boot != n.boot || e.frun != t.serial || !t.reading {
		return
	}
	t.reading = false
	if !n.alive || n.run != e.run {
		return
	}
	w.checkOrdered(e.node, e.group) // (again: the script begins now)
	w.beginStart(e.node, e.group)
}

func (w *world) opDone(e *event) {
	n := w.nodes[e.node]
	if e.boot != n.boot {
		return // the machine crashed: the script died with it
	}
	t := &n.gt[e.group]
	res := e.result
	if e.truthDone {
		// (a report held while the daemon was paused: the effect is done)
	} else if e.op == cluster.OpProbe {
		res = cluster.ResultStopped
		if t.up {
			res = cluster.ResultRunning
		}
	} else if e.frun == t.serial {
		switch {
		case e.op == cluster.OpStart && res == cluster.ResultFailed:
			t.up = false
			w.disrupted()
		case e.op == cluster.OpStop && res == cluster.ResultOK && w.hooks.stopLag > 0:
			// (tests) the processes end later than the script said
			w.push(&event{at: w.now.Add(w.hooks.stopLag), kind: evRogue, node: e.node, group: e.group})
		case e.op == cluster.OpStop && res == cluster.ResultOK:
			t.up = false
		case e.op == cluster.OpStop:
			t.stopFailed = true
			w.disrupted()
		}
	}
	if !n.alive || n.run != e.run {
		return // the daemon that asked is gone
	}
	if w.deferOpDone(e) {
		return
	}
	key := w.rs.keys[e.group]
	w.step(e.node, cluster.OpDone{Now: w.clock(e.node), Group: key, Op: e.op, Result: res}, func() string {
		return fmt.Sprintf("op-done %s %s %s", key, e.op, res)
	})
	if res == cluster.ResultStopFailed {
		// The operator notices the CRIT line and runs hbd cleanup.
		w.push(&event{at: w.now.Add(w.randDur(w.c.Deadtime, 3*w.c.Deadtime)), kind: evCommand, node: e.node, cmd: cluster.Command{Kind: cluster.CmdCleanup, Which: key}})
	}
}

func (w *world) command(e *event) {
	n := w.nodes[e.node]
	if !n.alive {
		return
	}
	w.disrupted()
	cmd := e.cmd
	cmd.Now = w.clock(e.node)
	w.step(e.node, cmd, func() string {
		if cmd.Node != "" {
			return fmt.Sprintf("command %s %s %s", cmd.Kind, cmd.Which, cmd.Node)
		}
		return fmt.Sprintf("command %s %s", cmd.Kind, cmd.Which)
	})
}
