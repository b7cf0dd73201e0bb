package cluster

import (
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Action is something the daemon must do: returned by Node.Step.
type Action interface{ isAction() }

// Send asks the daemon to sign and send a message. Link "" means every
// link; otherwise only that one. Msg is complete except the auth field.
// The action is a *Send: the node keeps its Sends and their messages in
// storage it reuses after Recycle, and a pointer in an Action needs no
// allocation of its own.
//
// Routine says that the message tells its receivers nothing but that
// this node is still there: a status identical to the one before it but
// for its seq, ts and ld, sent while every peer and every link is up, or
// an acknowledgement. A receiver may read it at its own next wake-up
// instead of waking for it (liveness counts from its arrival time, not
// from when it is read), as long as it reads the routine messages of a
// link before any later message of that link. Anything else (a status
// with a new state, every control message, a retransmission) is sent
// with Routine false and read at once.
type Send struct {
	Msg     *wire.Message
	Link    string
	Routine bool
}

// Log is one log line, in Heartbeat's words.
type Log struct {
	Level Level
	Msg   string
}

func (*Send) isAction() {}
func (Log) isAction()   {}

// Level is a log line's severity.
type Level int

// Log levels, as Heartbeat names them (debug, info, WARN, ERROR, CRIT).
const (
	LevelDebug Level = iota
	LevelInfo
	LevelWarn
	LevelError
	LevelCrit
)

// String returns the level as Heartbeat writes it in its log lines.
func (l Level) String() string {
	switch l {
	case LevelDebug:
		return "debug"
	case LevelInfo:
		return "info"
	case LevelWarn:
		return "WARN"
	case LevelError:
		return "ERROR"
	case LevelCrit:
		return "CRIT"
	}
	return "level?"
}

// StartGroup asks the daemon to run harc start for the group (in the
// background) and feed back an OpDone. Spec is the definition to run:
// the daemon never looks a group up by key (after a Reconfigure the
// running configuration may no longer have it, or have another one).
type StartGroup struct {
	Group string
	Spec  config.Group
	// From names the peers the group is taken over from (declared dead,
	// or gone by a graceful stop): the daemon logs how long the takeover
	// took from this decision. Empty for a first start or a handover.
	From []string
}

// StopGroup asks the daemon to run harc stop for the group, with the
// definition it was started with (Spec: also for a group removed or
// changed by a Reconfigure).
type StopGroup struct {
	Group string
	Spec  config.Group
	// Drain is ha.cf's drain_time for a planned release (a graceful
	// stop, a standby, a failback, a takeover command, a reload that
	// removes or changes the group): the group's built-in addresses may
	// wait that long for the connections in flight on them to finish.
	// 0 for a release that must be at once (quorum lost, a partition's
	// duplicate, a failure, a release before joining, a node that must
	// not hold the group) and when drain_time is 0.
	Drain time.Duration
	// Taker, for a planned release (whatever its Drain, drain_time 0
	// too), is the live peer the placement rule gives the group to once
	// it is gone from here: the node expected to start it next and
	// announce its addresses. The group's built-in addresses hand the
	// frames that still reach this node after their removal over to the
	// node that announces them (resources/ipaddr) only when there is
	// one: "" (the last live node, a one-node cluster, a group no live
	// peer may hold, a group a reload removed, a release at once) means
	// nobody will announce them, and a handover would only wait its
	// whole bound for nobody.
	Taker string
}

// ProbeGroup asks the daemon to run harc status for the group.
type ProbeGroup struct {
	Group string
	Spec  config.Group
}

// AbandonStart calls off the start of the group under way here: since
// the core decided it, Peer, declared dead, was heard again (back from a
// partition or a stall, or restarted; not after a graceful stop), or
// Peer announced that it holds the group. The daemon calls the start
// off if none of its start scripts has begun (its statuses are still
// being read): its OpDone then says ResultAbandoned. Otherwise the start
// runs to its end and its OpDone says how it ended, as without
// AbandonStart. Emitted at most once per start.
type AbandonStart struct {
	Group string
	Peer  string
}

// PrepareGroup says that a live peer (From) is releasing a group this
// node will then start: its graceful stop, or the standby handshake of
// its standby, a failback or a takeover command. The daemon may read the
// group's statuses now, beside the peer's stop scripts, and let the
// StartGroup that follows use what it read while it is still valid
// (harc's Prepare). A status read changes nothing, so reading early is
// safe; no OpDone is expected and the core waits for nothing. Spec is
// the definition the start will run. Emitted once per release: again only
// after the group stopped being released to this node.
type PrepareGroup struct {
	Group string
	Spec  config.Group
	From  string
}

// Reannounce asks the daemon to announce the group's addresses again
// (gratuitous ARP / unsolicited NA, EIP re-assert) without stopping it:
// this node keeps a group another node held too (a healed partition), or
// that a peer may have held a copy of and has released (a restart's
// release before joining, a Heartbeat peer's shutdown). Spec is the
// definition running here. The daemon announces every address resource
// itself, whatever script runs it; no OpDone is expected.
type Reannounce struct {
	Group string
	Spec  config.Group
}

// WatchGroup says the group runs here now (its start succeeded): the
// daemon keeps it until UnwatchGroup — it watches the group's built-in
// addresses (puts back an address someone removed, announces it
// periodically) and runs Monitors, its ha.cf monitor lines. Spec is the
// definition that was started.
type WatchGroup struct {
	Group    string
	Spec     config.Group
	Monitors []config.Monitor
}

// UnwatchGroup ends WatchGroup. The core emits it just before any other
// operation of a watched group (StopGroup); the daemon runs that
// operation only once the watch and the monitor checks have stopped, so
// no watcher puts an address back and no monitor restarts a resource
// beside a stop.
type UnwatchGroup struct{ Group string }

// PeerState says a peer's state changed as this node sees it: the st of
// its status messages (init, up, active), or dead when it was declared
// dead or sent its shutdown notice. The daemon runs the rc.d/status hook
// with HA_t=status, HA_src=Node and HA_st=State, as Heartbeat does.
type PeerState struct {
	Node  string
	State string
}

// RunHook asks the daemon to run the rc.d hook named Event (harc's
// RunEvent) with Fields, the string fields of the message that caused it,
// as HA_<name> variables. The core emits it once for every accepted
// message of a type Heartbeat runs a hook for (ask_resources, hb_takeover,
// ip-request, ip-request-resp): never for a duplicate, a copy that came
// on another link, a replay, a stale generation or a message addressed to
// another node.
type RunHook struct {
	Event  string
	Fields map[string]string
}

// PersistSettings asks the daemon to keep the cluster-wide operator
// settings (all of them, as they are now) in its state directory, replacing
// what it kept before atomically, and to give them back to New
// (Options.Settings) at the next start. Emitted whenever they change: an
// operator's command here, or a newer version from a peer.
type PersistSettings struct {
	Settings []Setting
}

// PeerGenerations asks the daemon to keep, across restarts, the newest
// generation (hg) seen of each peer (every peer with one; the complete
// set, not a change). The core emits it when a peer's generation rises
// above the newest known; the daemon writes it atomically to its state
// directory and gives it back at the next start (Options.PeerGenerations),
// so a packet of an older generation captured before this node restarted
// is still refused.
type PeerGenerations struct {
	Generations map[string]uint64
}

// Exit says the graceful stop is complete: every group is released and
// shutdone was sent. The daemon exits 0.
type Exit struct{}

func (StartGroup) isAction()      {}
func (StopGroup) isAction()       {}
func (ProbeGroup) isAction()      {}
func (PrepareGroup) isAction()    {}
func (AbandonStart) isAction()    {}
func (Reannounce) isAction()      {}
func (WatchGroup) isAction()      {}
func (UnwatchGroup) isAction()    {}
func (PeerState) isAction()       {}
func (RunHook) isAction()         {}
func (Exit) isAction()            {}
func (PersistSettings) isAction() {}
func (PeerGenerations) isAction() {}
