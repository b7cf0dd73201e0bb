package cluster

import (
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// Event is something that happened to the node: fed to Node.Step. A new
// kind of event is named in eventTime too (node.go), which reads an
// event's time without a call through the interface.
type Event interface {
	at() time.Time // when it happened: every event carries its time
}

// Tick tells the core the time. The daemon sends one at (or after)
// Node.NextTick. Load is /proc/loadavg's text, sent as the `ld` field.
type Tick struct {
	Now  time.Time
	Load string
}

// Receive is a message from a peer. Now is its arrival time, taken by the
// reader goroutine; Msg has been signature-verified; Link is the medium's
// name (its interface, e.g. "eth0").
// The node reads Msg during Step and keeps nothing of it (values it needs
// are copied), so the caller may decode the next datagram into it.
type Receive struct {
	Now  time.Time
	Link string
	Msg  *wire.Message
}

// Stop is a graceful stop (SIGTERM, hbd stop): the node releases every
// group it holds (StopGroup, one at a time, last group first; one a live
// peer also holds at once), announces
// it (resource info=shutdown), sends `shutdone` st=dead so its peers see
// it dead at once and take over, emits Exit, and from then on does
// nothing. A second Stop while stopping changes nothing. A group whose stop failed holds the
// stop back until CmdCleanup stops it.
type Stop struct {
	Now time.Time
}

// RoutineFlood says that the links found, at this wake-up's read of the
// peers' routine datagrams (hbd/link's Set.Drain), more of them than a
// peer sends, or datagrams the kernel dropped, on the links named: a
// burst forged with a peer's address may have filled the socket, and the
// kernel dropped the peer's statuses on that link since the previous
// read, which for a quiet node is about a deadtime ago. The daemon sends
// it before it feeds the core what that read gave. From then on the
// links read that socket at once, so a live peer is heard there again
// within a keepalive or its S. The peers heard on those links get a
// deadtime before they may be declared dead (flood.go); the others'
// deadlines stand. It judges nothing and leaves the node's time as it
// is (Now only dates the grace): the messages of the same read, stepped
// after it, may show a peer alive that the grace does not cover.
type RoutineFlood struct {
	Now time.Time
	// Links are the names of the flooded links (Receive.Link's). The
	// core reads them during Step and keeps nothing of them.
	Links []string
}

func (e Tick) at() time.Time    { return e.Now }
func (e Receive) at() time.Time { return e.Now }
func (e Stop) at() time.Time    { return e.Now }

func (e RoutineFlood) at() time.Time { return e.Now }

// Op is a resource group operation the daemon runs through harc.
type Op int

// Group operations.
const (
	// OpStart runs the group's scripts with start, left to right (harc
	// rolls a failed start back, right to left).
	OpStart Op = iota
	// OpStop runs the group's scripts with stop, right to left.
	OpStop
	// OpProbe runs the group's scripts with status (at boot, before this
	// node joins the cluster).
	OpProbe
)

func (o Op) String() string {
	switch o {
	case OpStart:
		return "start"
	case OpStop:
		return "stop"
	case OpProbe:
		return "probe"
	}
	return "op?"
}

// Result is how a group operation ended.
type Result int

// Results of a group operation.
const (
	// ResultOK: start or stop succeeded.
	ResultOK Result = iota
	// ResultFailed: a start failed and was rolled back (the group is not
	// running), or a probe could not tell.
	ResultFailed
	// ResultStopFailed: a stop (or the rollback of a failed start) failed:
	// the group may still run. Nobody else may start it.
	ResultStopFailed
	// ResultRunning and ResultStopped answer OpProbe.
	ResultRunning
	ResultStopped
	// ResultAbandoned: a start called off by AbandonStart before any of
	// its start scripts began: nothing of it runs (what its statuses
	// found running was stopped again), and it did not fail.
	ResultAbandoned
)

func (r Result) String() string {
	switch r {
	case ResultOK:
		return "ok"
	case ResultFailed:
		return "failed"
	case ResultStopFailed:
		return "stop-failed"
	case ResultRunning:
		return "running"
	case ResultStopped:
		return "stopped"
	case ResultAbandoned:
		return "abandoned"
	}
	return "result?"
}

// OpDone is the end of a group operation the core asked for (StartGroup,
// StopGroup, ProbeGroup). Group is config.Group.Key(). It may come any
// time later; heartbeats go on meanwhile.
type OpDone struct {
	Now    time.Time
	Group  string
	Op     Op
	Result Result
	Detail string // the error, for the log and `hbd status`
}

// CommandKind is an operator command.
type CommandKind int

// Operator commands.
const (
	// CmdStandby is hb_standby: give the groups in Which to the other
	// nodes.
	CmdStandby CommandKind = iota
	// CmdTakeover is hb_takeover: ask the other nodes to give the groups
	// in Which to this node.
	CmdTakeover
	// CmdCleanup forgets that group Which ("" or "all": every group)
	// failed to start here, and retries the stop of a stop-failed group.
	CmdCleanup
	// CmdNodeStandby puts node Node ("" this node) in standby, cluster
	// wide and until CmdNodeOnline: it holds no group.
	CmdNodeStandby
	// CmdNodeOnline ends Node's standby ("" this node).
	CmdNodeOnline
	// CmdGroupDisable disables group Which (a key) cluster wide: it is
	// stopped everywhere until CmdGroupEnable.
	CmdGroupDisable
	// CmdGroupEnable ends CmdGroupDisable of group Which.
	CmdGroupEnable
	// CmdGroupMove moves group Which to node Node, or, with Node "", away
	// from the node holding it now, until CmdGroupClear.
	CmdGroupMove
	// CmdGroupClear ends CmdGroupMove of group Which.
	CmdGroupClear
	// CmdNodeFenced is the operator's word that silent node Node is off
	// (Pacemaker's stonith_admin --confirm): a takeover here that waits
	// for its fence (fencing failing, or profile safe without a fencing
	// method) goes ahead.
	CmdNodeFenced
	// CmdSettingClear clears the setting of kind Setting and name Which
	// held here, whatever the name: one this configuration lacks (junk
	// a hostile or broken peer announced, a removed group's) as well as
	// one it has. The clear spreads and is dropped once every node has
	// it, as online, enable and clear are (settingsgc.go).
	CmdSettingClear
	// CmdSettingsClearOthers clears, in one change, every setting in
	// force here of a name this configuration lacks.
	CmdSettingsClearOthers
)

func (k CommandKind) String() string {
	switch k {
	case CmdStandby:
		return "standby"
	case CmdTakeover:
		return "takeover"
	case CmdCleanup:
		return "cleanup"
	case CmdNodeStandby:
		return "node standby"
	case CmdNodeOnline:
		return "node online"
	case CmdGroupDisable:
		return "group disable"
	case CmdGroupEnable:
		return "group enable"
	case CmdGroupMove:
		return "group move"
	case CmdGroupClear:
		return "group clear"
	case CmdNodeFenced:
		return "node fenced"
	case CmdSettingClear:
		return "settings clear"
	case CmdSettingsClearOthers:
		return "settings clear --unconfigured"
	}
	return "command?"
}

// Command is an operator command from the control socket. For standby
// and takeover, Which is all, foreign (or failback), or local, relative
// to this node ("" means all); for the group commands it is the group's
// key. Node is the node of CmdNodeStandby, CmdNodeOnline, CmdNodeFenced
// and CmdGroupMove.
type Command struct {
	Now   time.Time
	Kind  CommandKind
	Which string
	Node  string
	// Setting is the kind of setting CmdSettingClear clears
	// (SettingStandby, SettingDisabled, SettingMove).
	Setting string
}

// GroupFailure says a held group (not GroupFailed: that name is the
// failed state's constant) failed here for good: its monitor found a
// resource down more often than its local-restart threshold allows (the
// daemon restarts resources locally before that; see docs/monitoring.md).
// The core releases the group here (StopGroup), marks it failed on this
// node like a failed start (announced in hbd_failed: the next node by the
// rule takes it) and does not take it back until the failure expires
// (config.Group.FailureTimeout after it; 0: never) or CmdCleanup clears
// it. Group is config.Group.Key().
type GroupFailure struct {
	Now    time.Time
	Group  string
	Detail string
}

func (e GroupFailure) at() time.Time { return e.Now }

func (e OpDone) at() time.Time  { return e.Now }
func (e Command) at() time.Time { return e.Now }
