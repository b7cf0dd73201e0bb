package sim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/sim/vnet"
	"github.com/hbdproject/hbd/hbd/wire"
)

// simNode is one simulated machine and the daemon on it: its core, its
// runs, and the ground truth the checks hold the core to.
type simNode struct {
	name    string
	core    *cluster.Node
	run     int // incarnation, 1 = first start
	alive   bool
	gen     uint64
	uuid    [16]byte
	started time.Time
	boot    int  // machine boots: a machine crash kills the group scripts
	exiting bool // a graceful stop is releasing the groups
	gt      []truth
	joined  bool // the current run went active
	reload  int  // the newest reload applied here (reload.go)
	// routine: the routine messages that wait for its next step, and
	// when its current run last read them (Config.RoutineReads,
	// routine.go).
	routine     []*event
	routineRead time.Time
	// pausedUntil: the daemon (suspended: the whole machine) is stopped
	// until then (faults.go); resumedAt: when it last resumed.
	pausedUntil, resumedAt time.Time
	suspended              bool
	// failback: the auto_failback the checks expect of this node (its
	// newest configuration's); fbChanged: when a reload changed it.
	failback  config.AutoFailback
	fbChanged time.Time
	// skew is the node's clock minus the world's: a suspended machine's
	// monotonic clock stood still (faults.go).
	skew time.Duration
	// leapt is how far the node's monotonic clock leapt ahead in this run
	// (part of skew); wall is its wall clock minus the world's (its
	// machine's: it outlives a restart of the daemon) (clocks.go).
	leapt, wall time.Duration
	bd          boundaryState
	// prepared: the definitions of the groups this run was told to
	// prepare the start of (PrepareGroup), until their start or stop.
	prepared map[string]config.Group
	// persisted: the settings the core last asked to persist (kept across
	// its restarts, as the daemon's state directory keeps them).
	persisted []cluster.Setting
	// standing executes the core's standing status order (standing.go);
	// standingAt is when its next send is queued (in standingRun).
	standing    cluster.Standing
	standingAt  time.Time
	standingRun int
	// sent is what the current run sent of each of its newest seqs, and
	// sentHigh the highest (CheckSeqStream, standing.go).
	sent     map[uint64]string
	sentHigh uint64
}

// view is what observer X's current run has received from peer Y.
type view struct {
	heard   bool
	lastSeq time.Time // arrival of the last packet with a seq
	// onLink: the arrival of the last packet with a seq on each link
	// (by its index in the network's links, at most 3): flood.go.
	onLink    [3]time.Time
	statusGen uint64
	statusSeq uint64
	statusDt  time.Duration
	// statusQuiet: the hbd_quiet of that status (0: none): X waits
	// deadtime × statusQuiet / keepalive before it declares Y dead.
	statusQuiet time.Duration
	firstOfRun  int // Y's run whose first packet has been checked
	upAt        time.Time
	upRun       int
}

type kind int

const (
	evTick kind = iota
	evDeliver
	evCrash
	evRestart
	evPartition
	evHeal
	evCheck3
	evOpDone
	evCommand
	evRogue // tests only: scripts run or stopped behind the core's back
	evReload
	evApply
	evMonitor
	evStartScript // a start's statuses are read: its start script begins
	evStanding    // the standing status order's send is due (standing.go)
)

// event is one entry of the queue: what happens (kind) to node at time at.
type event struct {
	at   time.Time
	kind kind
	node int // target
	run  int // target's run the event belongs to (ticks, checks)
	from int
	frun int
	link string
	msg  *wire.Message
	// routine: msg was sent as a routine message (Config.RoutineReads);
	// arrived, clock, viewed and stale, once it waits for its receiver
	// (routine.go): the world's time and the receiver's clock when it
	// arrived, and msg as the receiver's wall clock saw it then
	// (wallView).
	routine        bool
	arrived, clock time.Time
	viewed         *wire.Message
	stale          bool
	part           []bool
	// resource events
	group  int
	op     cluster.Op
	result cluster.Result
	boot   int
	cmd    cluster.Command
	cfg    *config.Config
	// faults (faults.go)
	dur       time.Duration
	truthDone bool // an OpDone held for a paused core: its effect is done
	note      string
}

// world is one run: the nodes, the virtual network and clock, the event
// queue, and what the checks have seen so far.
type world struct {
	c Config
	// reading: the steps under way give a node the routine messages
	// that waited for it (routine.go).
	reading bool
	rng     *rand.Rand
	cfgs    []*config.Config
	nodes   []*simNode
	net     *vnet.Net
	q       vnet.Queue[*event]
	now     time.Time
	views   [][]view
	lostRow [][]int
	res     Result
	// checkDeadtime, when set, is the deadtime CheckDeadInTime assumes,
	// whatever dt the cores announce (tests that prove the checker fails).
	checkDeadtime time.Duration
	// statusHigh[i] is the highest seq of a periodic status node i sent
	// (a resent one is not fresh and does not count for the loss bound).
	statusHigh []uint64
	tracing    bool
	rs         resState
	ns         *nodeSet    // node-set changes (nodeset.go); nil without
	fl         *floodState // floods of routine sockets (flood.go); nil without
	unheld     unheldTally
	hooks      hooks
	hash       interface {
		Write([]byte) (int, error)
		Sum64() uint64
	}
}

// hooks make a run misbehave on purpose, to prove that the checkers can
// fail (export_test.go sets them); a real run has none.
type hooks struct {
	// action rewrites an action a core returned before the world plays it
	// (nil: the action is dropped).
	action func(i int, a cluster.Action) cluster.Action
	// deaf: the network delivered e, but the core does not get it (the
	// checks count it as arrived).
	deaf func(w *world, e *event) bool
	// nextTick rewrites when node i's core asks to be woken.
	nextTick func(i int, next time.Time) time.Time
	// stopLag: a stop script tells the core it is done this long before
	// the group's processes really end.
	stopLag time.Duration
	// floodUntold: a read that finds a flood does not tell the core
	// (flood.go), as before cluster.RoutineFlood.
	floodUntold bool
	// unsent: the cores are never told what their standing orders sent
	// (cluster.Node.Sent).
	unsent bool
}

// clock is node i's own time (the world's, unless a suspend held it).
func (w *world) clock(i int) time.Time { return w.now.Add(w.nodes[i].skew) }

// nextTick is when node i's core asks to be woken, in the world's time.
func (w *world) nextTick(i int) time.Time {
	n := w.nodes[i]
	next := n.core.NextTick()
	if !next.IsZero() {
		next = next.Add(-n.skew) // the node's time → the world's
	}
	if w.hooks.nextTick != nil {
		next = w.hooks.nextTick(i, next)
	}
	return next
}

func newWorld(c Config) *world {
	w := &world{c: c, rng: rand.New(rand.NewPCG(c.Seed, c.Seed^0x9e3779b97f4a7c15)), hash: fnv.New64a(), tracing: c.Trace || c.Hash}
	w.setup()
	return w
}

func (w *world) run() (res Result) {
	defer func() {
		if r := recover(); r != nil {
			w.violate(CheckNoPanic, fmt.Sprint(r))
		}
		if w.c.Hash {
			w.res.Hash = w.hash.Sum64()
		}
		res = w.res
	}()
	end := Epoch.Add(w.c.Duration)
	for {
		_, e, ok := w.q.Pop()
		if !ok || e.at.After(end) {
			break
		}
		w.tallyUnheld(e.at)
		w.now = e.at
		w.res.Events++
		w.handle(e)
	}
	w.tallyUnheld(end)
	w.now = end
	w.checkEnd()
	return w.res
}

func (w *world) push(e *event) { w.q.Push(e.at, e) }

func (w *world) setup() {
	c := w.c
	names := make([]string, c.Nodes)
	for i := range names {
		names[i] = fmt.Sprintf("node%d", i+1)
	}
	var links []string
	for l := 0; l < c.Links; l++ {
		links = append(links, fmt.Sprintf("eth%d", l))
	}
	w.net = vnet.New(c.Nodes, links...)
	w.views = make([][]view, c.Nodes)
	w.statusHigh = make([]uint64, c.Nodes)
	w.lostRow = make([][]int, c.Nodes)
	for i, name := range names {
		w.cfgs = append(w.cfgs, c.NodeConfig(name, names, links))
		var u [16]byte
		for b := range u {
			u[b] = byte(w.rng.Uint32())
		}
		w.nodes = append(w.nodes, &simNode{name: name, uuid: u, gen: 0x6b020000 + uint64(i)*0x100})
		w.views[i] = make([]view, c.Nodes)
		w.lostRow[i] = make([]int, c.Nodes)
		if i >= c.Nodes-c.Spare {
			continue // a spare starts when a change of the node set adds it
		}
		at := Epoch
		if c.StartSkew > 0 {
			at = at.Add(w.randDur(0, c.StartSkew))
		}
		w.push(&event{at: at, kind: evRestart, node: i})
	}
	w.setupGroups(names)
	last := c.Duration
	if c.QuietAfter > 0 {
		last = c.QuietAfter
	}
	for k := 0; k < c.Crashes; k++ {
		w.push(&event{at: Epoch.Add(w.randDur(c.Initdead, last)), kind: evCrash, node: w.rng.IntN(c.Nodes)})
	}
	for k := 0; k < c.Partitions; k++ {
		side := make([]bool, c.Nodes)
		for i := range side {
			side[i] = w.rng.IntN(2) == 0
		}
		at := Epoch.Add(w.randDur(c.Initdead, last))
		w.push(&event{at: at, kind: evPartition, part: side})
		w.push(&event{at: at.Add(w.randDur(c.DownMin, c.DownMax)), kind: evHeal})
	}
	w.setupFaults(last)
	w.setupMarkEpisodes()
	w.setupNodeSet(names, last)
	w.setupStopCuts(last)
	w.setupFloods(last)
}

func (w *world) randDur(lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	return lo + time.Duration(w.rng.Int64N(int64(hi-lo)))
}

func (w *world) trace(format string, args ...any) {
	if !w.tracing {
		return
	}
	line := "+" + fmtDur(w.now.Sub(Epoch)) + " " + fmt.Sprintf(format, args...)
	w.hash.Write([]byte(line))
	w.hash.Write([]byte{'\n'})
	if w.c.Trace {
		w.res.Trace = append(w.res.Trace, line)
	}
}

func fmtDur(d time.Duration) string {
	return fmt.Sprintf("%d.%03ds", d/time.Second, (d%time.Second)/time.Millisecond)
}

func (w *world) violate(inv, detail string) {
	v := Violation{At: w.now.Sub(Epoch), Invariant: inv, Detail: detail}
	w.res.Violations = append(w.res.Violations, v)
	w.trace("VIOLATION %s: %s", inv, detail)
}

func summary(m *wire.Message) string {
	var b strings.Builder
	for _, k := range []string{"t", "st", "dest", "seq", "hg", "ackseq", "firstseq", "dt", "rsc_hold", "isstable", "info", "hbd_held", "hbd_want"} {
		if v, ok := m.Get(k); ok {
			fmt.Fprintf(&b, " %s=%s", k, v)
		}
	}
	return strings.TrimSpace(b.String())
}

func (w *world) handle(e *event) {
	if w.deferPaused(e) {
		return
	}
	switch e.kind {
	case evTick:
		n := w.nodes[e.node]
		if !n.alive || n.run != e.run {
			return
		}
		if next := w.nextTick(e.node); !next.Equal(e.at) {
			return // superseded by a later NextTick
		}
		// The order's send due by now goes first, as the daemon's tick
		// sends it before it steps the core (standing.go).
		if due, on := n.standing.Due(); on && !due.After(w.clock(e.node)) {
			w.standingFire(e.node)
		}
		w.step(e.node, cluster.Tick{Now: w.clock(e.node), Load: simLoad}, func() string { return "tick" })
	case evStanding:
		w.standingSend(e)
	case evDeliver:
		w.deliver(e)
	case evCrash:
		n := w.nodes[e.node]
		if !n.alive {
			return
		}
		if w.rng.Float64() < w.c.GracefulShare {
			w.disrupted()
			n.exiting = true
			w.step(e.node, cluster.Stop{Now: w.clock(e.node)}, func() string { return "stop" })
			if n.exiting {
				return // Exit comes when the groups are released
			}
			break
		}
		w.crash(e.node)
	case evRestart:
		if !w.restartAllowed(e.node) {
			return
		}
		n := w.nodes[e.node]
		n.run++
		if n.run > 1 {
			n.gen++
		}
		n.alive = true
		n.started = w.now
		w.statusHigh[e.node] = 0
		n.exiting, n.joined = false, false
		n.routine, n.routineRead = nil, time.Time{}
		n.bd = boundaryState{}
		n.standing = cluster.Standing{}
		n.sent, n.sentHigh = map[uint64]string{}, 0
		n.core = cluster.New(cluster.Options{Config: w.cfgs[e.node], UUID: n.uuid, Generation: n.gen, Now: w.clock(e.node), Settings: n.persisted, CheckSkips: w.c.CheckSkips, Standing: !w.c.NoStanding})
		for g := range n.gt {
			if _, ok := w.cfgs[e.node].Group(w.rs.keys[g]); !ok && n.gt[g].up {
				n.gt[g].orphan = true
			}
		}
		w.views[e.node] = make([]view, w.c.Nodes)
		w.disrupted()
		w.trace("%s#%d start hg=%x", n.name, n.run, n.gen)
		w.schedule(e.node)
	case evPartition:
		w.net.Partition(e.part)
		w.disrupted()
		w.trace("partition %v", e.part)
	case evHeal:
		w.net.Heal()
		w.disrupted()
		w.trace("heal")
	case evCheck3:
		w.check3(e)
	case evOpDone:
		w.opDone(e)
	case evStartScript:
		w.startScript(e)
	case evCommand:
		w.command(e)
	case evReload:
		w.reload()
	case evApply:
		w.apply(e)
	case evMonitor:
		w.monitorFails(e)
	case evFence:
		w.fenceDone(e)
	case evCut, evUncut, evPause, evResume, evSuspend:
		w.faultEvent(e)
	case evLeap, evWallStep, evWallFix:
		w.clockEvent(e)
	case evNodeSet, evNodePhase, evNodeStop:
		w.nodeSetEvent(e)
	case evStopCut:
		w.stopCut()
	case evFloodBurst:
		w.floodBurst(e)
	case evRogue:
		n := w.nodes[e.node]
		if len(n.gt) > 0 {
			n.gt[e.group].up = e.boot == 1
			n.gt[e.group].run = n.run
			w.trace("ROGUE %s %s up=%v", n.name, w.rs.keys[e.group], e.boot == 1)
		}
	}
	w.checkDeadInTime()
	w.checkExclusive()
	w.checkExclusiveSet()
	w.checkSettingsHeld()
	w.checkJoined()
}

func (w *world) schedule(i int) {
	n := w.nodes[i]
	w.scheduleStanding(i)
	next := w.nextTick(i)
	if next.IsZero() {
		return
	}
	w.push(&event{at: next, kind: evTick, node: i, run: n.run})
}

func (w *world) step(i int, ev cluster.Event, what func() string) {
	w.readRoutine(i, ev)
	n := w.nodes[i]
	if w.tracing {
		w.trace("%s#%d %s", n.name, n.run, what())
	}
	if !w.hooks.unsent {
		n.core.Sent(&n.standing) // what the order sent comes first, as in the daemon
	}
	acts := n.core.Step(ev)
	for _, a := range acts {
		if w.hooks.action != nil {
			if a = w.hooks.action(i, a); a == nil {
				continue
			}
		}
		switch a := a.(type) {
		case cluster.Log:
			w.trace("  %s log %s: %s", n.name, a.Level, a.Msg)
			if w.c.calm() && strings.HasSuffix(a.Msg, ": is dead") {
				w.violate(CheckCalm, fmt.Sprintf("%s: %s", n.name, a.Msg))
			}
		case *cluster.Send:
			if w.tracing {
				w.trace("  %s send%s %s", n.name, tag(a.Link), summary(a.Msg))
			}
			w.send(i, a)
		case *cluster.StandingStatus:
			if w.tracing {
				w.trace("  %s %s", n.name, standingSummary(a))
			}
			n.standing.Apply(a)
		default:
			w.resourceAction(i, a)
		}
	}
	w.checkBoundary(i, ev, acts)
	// Nothing of acts is kept (send copies the messages it carries): the
	// core builds the next Step's in the same storage, as in the daemon.
	n.core.Recycle()
	if n.alive && !n.joined && n.core.State() == cluster.StateActive {
		n.joined = true
	}
	if w.reading {
		return // the event they come before checks and schedules (routine.go)
	}
	if next := w.nextTick(i); !next.IsZero() && !next.After(w.now) {
		w.violate(CheckProgress, fmt.Sprintf("%s NextTick %v is not after now", n.name, next.Sub(w.now)))
		w.push(&event{at: w.now.Add(time.Millisecond), kind: evTick, node: i, run: n.run})
		return
	}
	w.schedule(i)
}

func tag(l string) string {
	if l == "" {
		return ""
	}
	return "[" + l + "]"
}
