package cluster

import (
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

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
)

func (k CommandKind) String() string {
	switch k {
	case CmdStandby:
		return "standby"
	case CmdTakeover:
		return "takeover"
	case CmdCleanup:
		return "cleanup"
	}
	return "command?"
}

// Command is an operator command from the control socket. For standby
// and takeover, Which is all, foreign (or failback), or local, relative
// to this node ("" means all).
type Command struct {
	Now   time.Time
	Kind  CommandKind
	Which string
}

// GroupFailure says a held group (the brief's GroupFailed; that name is
// the failed state's constant) failed here for good: its monitor found a
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

// StartGroup asks the daemon to run harc start for the group (in the
// background) and feed back an OpDone. Spec is the definition to run:
// the daemon never looks a group up by key (after a Reconfigure the
// running configuration may no longer have it, or have another one).
type StartGroup struct {
	Group string
	Spec  config.Group
}

// StopGroup asks the daemon to run harc stop for the group, with the
// definition it was started with (Spec: also for a group removed or
// changed by a Reconfigure).
type StopGroup struct {
	Group string
	Spec  config.Group
}

// ProbeGroup asks the daemon to run harc status for the group.
type ProbeGroup struct {
	Group string
	Spec  config.Group
}

// Reannounce asks the daemon to announce the group's addresses again
// (gratuitous ARP / unsolicited NA, EIP re-assert) without stopping it:
// this node keeps a group another node held too (a healed partition).
// Until the daemon has a dedicated hook, re-running harc start of the
// group's idempotent address agents is an acceptable way to do it; no
// OpDone is expected.
type Reannounce struct{ Group string }

// Exit says the graceful stop is complete: every group is released and
// shutdone was sent. The daemon exits 0.
type Exit struct{}

func (StartGroup) isAction() {}
func (StopGroup) isAction()  {}
func (ProbeGroup) isAction() {}
func (Reannounce) isAction() {}
func (Exit) isAction()       {}

// Group states, as this node sees its own copy of a group.
const (
	GroupStopped    = "stopped"
	GroupProbing    = "probing"
	GroupStarting   = "starting"
	GroupRunning    = "running"
	GroupStopping   = "stopping"
	GroupFailed     = "failed"
	GroupStopFailed = "stop-failed"
)

// GroupStatus is one resource group in `hbd status`.
type GroupStatus struct {
	Key       string `json:"key"`
	Preferred string `json:"preferred"`
	// Holder is the node holding the group (this node, or the peer that
	// last announced it), "" when nobody does.
	Holder string `json:"holder"`
	// State is this node's state of the group when it holds it or it
	// failed here; "running" when a peer holds it; "stopped" otherwise.
	State     string    `json:"state"`
	Since     time.Time `json:"since"`
	LastError string    `json:"last_error,omitempty"`
	// Standby: this node stands by for the group (hb_standby).
	Standby bool `json:"standby,omitempty"`
	// Failed: a start failed here, or the group failed while it ran here
	// (GroupFailure); this node does not take the group until `hbd
	// cleanup` or until FailedUntil.
	Failed bool `json:"failed,omitempty"`
	// FailCount counts the failures recorded here (failed starts and
	// GroupFailed) since the last cleanup; LastFailure is the newest.
	FailCount   int       `json:"fail_count,omitempty"`
	LastFailure time.Time `json:"last_failure,omitzero"`
	// FailedUntil is when the failure here expires (zero while Failed:
	// never, until hbd cleanup).
	FailedUntil time.Time `json:"failed_until,omitzero"`
	// Yielding: this node releases the group because another node keeps
	// it (both held it: a healed partition).
	Yielding bool `json:"yielding,omitempty"`
	// Desired is the node the placement rule chooses now ("" = nobody).
	Desired string `json:"desired"`
}
