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
// disagree on the node set (CheckJoined). RandomQuietPassiveConfig
// (quietpassive.go) makes calm two-node runs in which the node that
// holds nothing goes quiet, so that CheckCalm judges its rarer statuses.
// RandomFloodCalmConfig and RandomFloodConfig (flood.go) flood the
// nodes' routine sockets with forged bursts that make the kernel drop
// statuses until the next read: no false death in calm runs, deaths in
// time (with the flood's grace) in runs with crashes.
// RandomLeadReloadConfig (reload.go) makes quorum runs whose reloads
// reach one node up to eight deadtimes before the others, with
// partitions that may cut that node off.
//
// This file holds what a caller sees: Config, Result, the membership
// invariants and Run. world.go plays a run: the nodes, the events of the
// queue, stepping the cores and playing the actions they return.
package sim

import (
	"fmt"
	"net/netip"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
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
	// StopCuts: this many times the node running the most groups stops
	// gracefully and, within half a deadtime, a partition cuts it off
	// from every other node (stopcut.go), healed after [DownMin, DownMax].
	StopCuts int
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
	// CutFirstLinkOnly: the link cuts hit the first link only; with
	// more than one link every node is heard on the others, and
	// CheckCalm applies.
	CutFirstLinkOnly bool
	// Clock faults (clocks.go): ClockJumps: a node's monotonic clock
	// leaps ahead by [PauseMin, PauseMax]. WallJumps: a node's wall clock
	// is stepped ahead or behind, and set right after [DownMin, DownMax].
	ClockJumps, WallJumps int
	// MarkEpisodes: this many episodes of one-way cuts around one node,
	// timed around deadtime, in which nodes that declared it dead hear it
	// again while others still read their mark (stalemark.go).
	MarkEpisodes int

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
	// A start first reads its resources' statuses for a time in
	// [StatusMin, StatusMax] (0: its start script begins at once), during
	// which nothing of the group runs yet and an AbandonStart calls it
	// off (ResultAbandoned); after it, the start script runs as above.
	StatusMin, StatusMax time.Duration
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
	// ReloadLag > 0: each reload reaches one random node first, and the
	// others up to ReloadLag later (an operator reloading one node, then
	// the rest).
	ReloadLag time.Duration
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

	// RoutineReads has every node read its peers' routine messages
	// (cluster.Send.Routine) as the daemon reads its routine sockets: one
	// that arrives waits for the receiver's next step and is given to it
	// first, with its arrival time, unless that step is a Tick for which
	// the receiver's RoutineCanWait says true (routine.go). Off, every
	// message is given to its receiver as it arrives.
	RoutineReads bool

	// Floods: this many episodes (before QuietAfter) of bursts of
	// forged routine datagrams at one node's routine socket for one peer
	// on one link, which make the kernel drop the peer's routine messages
	// there until the node reads it (flood.go). With RoutineReads only.
	// FloodDeaths: this many times one link between two nodes is cut,
	// the second node crashes a while later (its link there dead at the
	// first), and a burst on the cut link lands at the first node just
	// after the second's last status (flood.go).
	Floods, FloodDeaths int

	// CheckSkips has every node check the ticks on which it skips
	// reconcile (cluster.Options.CheckSkips): a tick that skipped one
	// with something to do is a panic, so a violation (CheckNoPanic).
	CheckSkips bool
	// NoStanding: the cores send every status themselves, at a Tick,
	// instead of ordering the routine ones (cluster.Options.Standing).
	NoStanding bool

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
	// Prepares counts PrepareGroup actions, PreparedStarts the starts
	// that followed one on the same node run, for the same group and
	// definition, with no stop of the group between (the starts the
	// daemon's statuses read ahead serve).
	Prepares, PreparedStarts int
	// Abandons counts the AbandonStart actions, Abandoned those that
	// came while the start still read its statuses (the others came too
	// late: its start script had begun).
	Abandons, Abandoned int
	// Unheld is the time groups ran on no node, summed over the groups,
	// from each one's first start on (unheld.go).
	Unheld                 time.Duration
	StaysPut, PreferredEnd int
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
	// the end; MovedEnd the moved groups it judged there; ClearedEnd the
	// runs where every node was up then (no cleared setting but the
	// newest may stay).
	SettingsEnd, MovedEnd, ClearedEnd int
	// Node-set changes (nodeset.go): nodes added and removed, removals
	// of a node whose daemon ran until after every member removed it, and
	// the pairs CheckJoined judged.
	NodesAdded, NodesRemoved, RemovedRunning, JoinJudged int
	// QuietStatuses counts the statuses a node received, newer than the
	// last one it had of that peer, that said hbd_quiet (the peer was
	// quiet or said it would be: hbd/cluster's quiet passive).
	QuietStatuses int
	// RoutineWaits counts the Ticks stepped without reading the routine
	// messages that waited (Config.RoutineReads), RoutineLate is the
	// longest a routine message waited to be read.
	RoutineWaits int
	RoutineLate  time.Duration
	// StandingSends counts the statuses sent by standing orders
	// (cluster.StandingStatus), without a Step of their node.
	StandingSends int
	// Floods (flood.go): bursts that landed at a running node, routine
	// messages they made the kernel drop, reads that found a flood.
	FloodBursts, FloodDrops, FloodsFound int
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
	// arrived at X by then, X sees Y as up or active. Only a packet given
	// to X's core while X's configuration in force names Y counts (the
	// core ignores the others); a reload that names Y applies after what
	// waited for X was read.
	CheckRestartSeen = "restart-seen"
	// CheckProgress: after every step, NextTick is after the step's time
	// (or zero once stopped): the core never asks to be woken in the past.
	CheckProgress = "progress"
	// CheckNoPanic: no core panicked.
	CheckNoPanic = "no-panic"
	// CheckSeqStream: the messages with a seq that a run of a node sends,
	// by its Steps or by its standing status order, are one stream: each
	// new seq is the one after the highest sent before, and a message
	// sent again (a retransmission) is byte for byte the first send of
	// its seq, as long as that is among the last cluster.HistorySize.
	CheckSeqStream = "seq-stream"
)

// Run runs one simulation.
func Run(c Config) Result {
	return newWorld(c).run()
}
