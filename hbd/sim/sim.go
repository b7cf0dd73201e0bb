// Package sim runs several hbd/cluster cores on a virtual network and a
// virtual clock, with seeded randomness (math/rand/v2): per-packet loss,
// delay and jitter (hence reordering), duplication, partitions, crashes,
// graceful stops and restarts. After every event it checks the membership
// invariants (see Check*) and records a trace that replays exactly: the
// same Config gives the same trace, byte for byte. The network itself (the
// event queue, partitions, the fan-out of a packet through the loss model)
// is hbd/sim/vnet, which the scenario tests of hbd/cluster use too.
//
// With Config.Groups > 0 the nodes also hold resource groups (groups.go):
// the simulation plays the daemon and harc — scripts that take time and
// sometimes fail, machine crashes that kill them, daemon kills that leave
// them running, operator commands — and checks Exclusive, Ordered,
// Available and Preferred against the ground truth of which scripts run
// where (RandomResourceConfig, TestResources).
//
// RandomFaultConfig (faults.go) adds faults beyond symmetric partitions:
// one-way cuts, single-link cuts and paused daemons that resume with a
// backlog; RandomSuspendConfig suspended machines whose clock stands
// still; RandomClockConfig (clocks.go) leaps of one node's monotonic
// clock and steps of its wall clock, with those faults, on safe,
// exclusive, monitor and quorum runs. There the weaker promises that
// still hold are checked (see faults.go, clocks.go and
// docs/split-brain.md): Exclusive keeps its zero tolerance only with
// fencing. RandomNodeSetConfig (nodeset.go) adds and removes nodes by
// rolling reloads, with the weaker promises that hold while the nodes
// disagree on the node set (CheckJoined).
package sim

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/sim/vnet"
	"github.com/hbdproject/hbd/hbd/wire"
)

// NodeConfig is the configuration node name runs with in a run of c
// (names: every node; links: the media, one bcast each). Its timings are
// c's; those c leaves zero take config's defaults (SetTimingDefaults), as
// config.Load fills in what ha.cf leaves out.
func (c Config) NodeConfig(name string, names, links []string) *config.Config {
	cfg := &config.Config{
		ThisNode: name, Nodes: names,
		Keepalive: c.Keepalive, Warntime: c.Warntime, Deadtime: c.Deadtime, Initdead: c.Initdead,
		UDPPort: 694, Hopfudge: 1, AutoFailback: c.AutoFailback, FailbackDelay: c.FailbackDelay, Quorum: c.Quorum,
	}
	cfg.SetTimingDefaults()
	c.safeConfig(cfg)
	for _, l := range links {
		cfg.Media = append(cfg.Media, config.Medium{Kind: config.Bcast, Iface: l, Port: 694, Addr: netip.Addr{}})
	}
	return cfg
}

// Epoch is the virtual clock's zero.
var Epoch = time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)

// Config is one simulated run.
type Config struct {
	Seed  uint64
	Nodes int // 2..9
	Links int // media per node, 1..3

	Keepalive, Warntime, Deadtime, Initdead time.Duration
	Duration                                time.Duration
	// StartSkew: each node starts at a random time in [0, StartSkew).
	StartSkew time.Duration

	// Loss is the probability that one copy of a packet on one link is lost.
	Loss float64
	// MaxLostInARow bounds the loss model: of one sender's status
	// messages, at most MaxLostInARow in a row are lost (on every link) to
	// one receiver; the next one is delivered on at least one link. This
	// is what "loss that deadtime covers" means (see CheckCalm). Negative:
	// no bound.
	MaxLostInARow int
	// DelayMin..DelayMax is the one-way delay of each copy (uniform);
	// copies overtake each other when the spread is large (reordering).
	DelayMin, DelayMax time.Duration
	// Dup is the probability that a delivered copy is delivered twice.
	Dup float64

	// Crashes: this many times a random running node crashes (kill -9)
	// or, with probability GracefulShare, stops gracefully (shutdone); it
	// restarts after Downtime (uniform in [DownMin, DownMax]) with its
	// generation + 1 and the same uuid.
	Crashes          int
	GracefulShare    float64
	DownMin, DownMax time.Duration
	// Partitions: this many times the nodes are split in two random
	// groups that cannot hear each other, healed after [DownMin, DownMax].
	Partitions int
	// Faults beyond those (faults.go), each healed after [DownMin,
	// DownMax]: OneWayCuts: one node stops hearing another, which still
	// hears it. LinkCuts: one medium fails between two nodes, both ways.
	// Pauses: a node's daemon stops for [PauseMin, PauseMax] (SIGSTOP, a
	// VM stall): its clock and inbox stop, its scripts go on, and it
	// resumes with a backlog.
	// Suspends: a node's machine is suspended for [PauseMin, PauseMax]
	// (a VM suspended or migrated): everything on it stops, packets sent
	// to it are lost, and its monotonic clock does not count the time.
	OneWayCuts, LinkCuts, Pauses, Suspends int
	PauseMin, PauseMax                     time.Duration
	// Clock faults (clocks.go): ClockJumps: a node's monotonic clock
	// leaps ahead by [PauseMin, PauseMax]. WallJumps: a node's wall clock
	// is stepped ahead or behind, and set right after [DownMin, DownMax].
	ClockJumps, WallJumps int

	// Resource groups (see groups.go): Groups > 0 gives the cluster that
	// many haresources groups with random preferred nodes.
	Groups       int
	AutoFailback config.AutoFailback
	// Exclusive: the Groups groups form one ha.cf `exclusive` set, the
	// first the highest priority (see exclusive.go).
	Exclusive bool
	// FailbackDelay is ha.cf's failback_delay (flap damping).
	FailbackDelay time.Duration
	// Quorum is ha.cf's quorum (auto: on with 3+ nodes). With quorum,
	// CheckExclusive has no tolerance for partitions: the two sides of a
	// partition never hold a group at once (see RandomQuorumConfig).
	Quorum config.QuorumMode
	// Every script operation (start, stop of a group) takes a time in
	// [ScriptMin, ScriptMax]; probes take up to ScriptMin.
	ScriptMin, ScriptMax time.Duration
	// StartFail and StopFail are the probabilities that a start fails
	// (rolled back) and that a stop fails (the group may still run).
	StartFail, StopFail float64
	// Commands: this many operator commands (standby, takeover, cleanup)
	// on random nodes at random times.
	Commands int
	// SettingsCommands: this many cluster-wide settings commands (node
	// standby and online, group disable, enable, move, clear) on random
	// nodes at random times (settings.go).
	SettingsCommands int
	// DaemonKillShare of the crashes kill only the daemon: the group's
	// processes keep running (Heartbeat's trap 2); the others are machine
	// crashes that take the processes with them.
	DaemonKillShare float64
	// QuietAfter: no crash, partition, restart or command is scheduled
	// after this time (0: Duration), so the end of the run can be checked
	// for Available and Preferred.
	QuietAfter time.Duration

	// Reloads: this many times (before QuietAfter) a new configuration
	// is drawn — groups added, removed, changed (another resource list)
	// or given another preferred node, shorter or longer timings — and
	// every node's daemon applies it (cluster.Reconfigure) at its own
	// random moment within half a deadtime: a rolling reload. ExtraGroups
	// keys beyond Groups may be added by a reload. See reload.go.
	Reloads     int
	ExtraGroups int
	// ReloadLonger > 1: a reload's keepalive (and deadtime, in the same
	// ratio) may also be up to ReloadLonger times the run's, and the
	// checks take their bounds from the longest (Config.widest).
	// ReloadFailback: a reload also draws auto_failback anew (on, off or
	// legacy; profile safe keeps it off).
	ReloadLonger   int
	ReloadFailback bool
	// NodeChanges: this many times (before QuietAfter) the node set
	// changes: a node is added or removed (nodeset.go). The last Spare of
	// the Nodes are in no configuration at first and do not run.
	NodeChanges, Spare int
	// MonitorFailures: this many times (before QuietAfter) a random
	// node's monitor gives up a group it runs (cluster.GroupFailure);
	// FailureTimeout is the groups' failure_timeout (0: until cleanup;
	// the simulated operator runs cleanup a few deadtimes later then).
	MonitorFailures int
	FailureTimeout  time.Duration

	// Safe runs every node with profile safe and a simulated fencing
	// device (safe.go): CheckExclusive has no tolerance for partitions.
	// FenceFail is the probability that one fence fails.
	Safe           bool
	SafeStartDelay time.Duration
	FenceFail      float64

	// Codec, when set, carries every message through an encoder/decoder
	// (a real wire format) instead of a deep copy.
	Codec func(*wire.Message) (*wire.Message, error)

	// Trace keeps the trace lines (for printing a failure).
	Trace bool
	// Hash computes Result.Hash, a hash of the trace (determinism checks).
	// Without Trace or Hash no trace is formatted at all (fast runs).
	Hash bool
}

// Violation is a broken invariant.
type Violation struct {
	At        time.Duration // since Epoch
	Invariant string
	Detail    string
}

func (v Violation) String() string {
	return fmt.Sprintf("+%s %s: %s", fmtDur(v.At), v.Invariant, v.Detail)
}

// Result is what a run produced.
type Result struct {
	Violations []Violation
	Trace      []string // when Config.Trace
	Hash       uint64   // FNV-64a of every trace line, when Config.Hash
	Events     int
	// How often the conditional checks applied (a checker that never
	// applies proves nothing): CheckRestartSeen at a new run's first
	// packet (RestartFirst) and one keepalive later (Checks3).
	RestartFirst, Checks3 int
	// Resource figures (groups.go). StaysPut counts the stops the
	// auto_failback off branch of CheckPreferred judged, PreferredEnd the
	// groups the end-of-run branch judged.
	Starts, Stops, Reannounces, Conflicts, EndChecks int
	StaysPut, PreferredEnd                           int
	// HealResolved counts duplicates of a partition that ended once the
	// nodes heard each other again; MaxHealResolve is the longest time
	// that took (from hearing each other to one node's stop finishing).
	HealResolved   int
	MaxHealResolve time.Duration
	Fences         int // Fence actions (profile safe)
	// Faults that happened (faults.go): cuts (one-way and link) and
	// pauses ended by a resume.
	Cuts, Resumes int
	// Clock faults (clocks.go): leaps of a monotonic clock, steps of a
	// wall clock, and messages dropped as stale because of them.
	Leaps, WallSteps, StaleDrops int
	// SettingsEnd counts the runs whose settings CheckSettings judged at
	// the end; MovedEnd the moved groups it judged there.
	SettingsEnd, MovedEnd int
	// Node-set changes (nodeset.go): nodes added and removed, removals
	// of a node whose daemon ran until after every member removed it, and
	// the pairs CheckJoined judged.
	NodesAdded, NodesRemoved, RemovedRunning, JoinJudged int
}

// Invariant names.
const (
	// CheckCalm (run without crashes, partitions or stops): no node is
	// ever declared dead. Valid when MaxLostInARow <= deadtime/keepalive-2,
	// DelayMax-DelayMin < keepalive and StartSkew+DelayMax < initdead, so
	// that two status messages of a live peer always arrive less than
	// deadtime apart: (MaxLostInARow+1)*keepalive + jitter < deadtime.
	CheckCalm = "calm"
	// CheckDeadInTime: an observer X declares a peer Y dead no later than
	// D + keepalive after the last packet with a seq from Y arrived at X,
	// where D is the deadtime in effect (X's deadtime, or the longer dt Y
	// announced in the newest status X received). A Y never heard by X's
	// current run must be declared dead by X's start + initdead + keepalive.
	CheckDeadInTime = "dead-in-time"
	// CheckRestartSeen: when the first packet of Y's new run (generation
	// + 1) arrives at X at time f, X's view of Y has the new generation at
	// once; and at f + keepalive, if a status st=up/active of that run has
	// arrived at X by then, X sees Y as up or active.
	CheckRestartSeen = "restart-seen"
	// CheckProgress: after every step, NextTick is after the step's time
	// (or zero once stopped): the core never asks to be woken in the past.
	CheckProgress = "progress"
	// CheckNoPanic: no core panicked.
	CheckNoPanic = "no-panic"
)

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
	// persisted: the settings the core last asked to persist (kept across
	// its restarts, as the daemon's state directory keeps them).
	persisted []cluster.Setting
}

// view is what observer X's current run has received from peer Y.
type view struct {
	heard      bool
	lastSeq    time.Time // arrival of the last packet with a seq
	statusGen  uint64
	statusSeq  uint64
	statusDt   time.Duration
	firstOfRun int // Y's run whose first packet has been checked
	upAt       time.Time
	upRun      int
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
)

type event struct {
	at   time.Time
	kind kind
	node int // target
	run  int // target's run the event belongs to (ticks, checks)
	from int
	frun int
	link string
	msg  *wire.Message
	part []bool
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

type world struct {
	c       Config
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
	ns         *nodeSet // node-set changes (nodeset.go); nil without
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

// Run runs one simulation.
func Run(c Config) Result {
	return newWorld(c).run()
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
		w.now = e.at
		w.res.Events++
		w.handle(e)
	}
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
	w.setupNodeSet(names, last)
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
		w.step(e.node, cluster.Tick{Now: w.clock(e.node), Load: "0.00 0.00 0.00 1/100 1"}, func() string { return "tick" })
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
		n.bd = boundaryState{}
		n.core = cluster.New(cluster.Options{Config: w.cfgs[e.node], UUID: n.uuid, Generation: n.gen, Now: w.clock(e.node), Settings: n.persisted})
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
	next := w.nextTick(i)
	if next.IsZero() {
		return
	}
	w.push(&event{at: next, kind: evTick, node: i, run: n.run})
}

func (w *world) step(i int, ev cluster.Event, what func() string) {
	n := w.nodes[i]
	if w.tracing {
		w.trace("%s#%d %s", n.name, n.run, what())
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
