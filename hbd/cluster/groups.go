package cluster

import (
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// Resource-group classes as Heartbeat's rsc_hold names them, relative to
// the node that sends (or runs) them.
const (
	HoldNone    = "none"
	HoldLocal   = "local"
	HoldForeign = "foreign"
	HoldAll     = "all"
)

// holdClass names in rsc_hold's words what local and foreign say (their
// meaning is the caller's: rscHold, classify): all for both, none for
// neither.
func holdClass(local, foreign bool) string {
	switch {
	case local && foreign:
		return HoldAll
	case local:
		return HoldLocal
	case foreign:
		return HoldForeign
	}
	return HoldNone
}

// group is this node's view of one haresources group.
type group struct {
	key, pref string
	// spec is the definition this node runs (start, stop, probe): the one
	// of the configuration in force when the group was last stopped here.
	spec config.Group
	// next is a changed definition (Reconfigure) waiting for the old one
	// to stop; removed: the group left the configuration and is forgotten
	// once it no longer runs here.
	next    *config.Group
	removed bool
	state   string
	since   time.Time
	lastErr string
	// failed: a start failed here; this node is not eligible for the
	// group until `hbd cleanup`.
	failed bool
	// standby: an operator gave the group away (hb_standby, or the peer's
	// hb_takeover); this node does not claim it by preference.
	standby bool
	// bootRelease: found running at boot, being stopped before joining.
	bootRelease bool
	// watched: the daemon keeps the running group (WatchGroup) until the
	// next operation of it (UnwatchGroup).
	watched bool
	// conflict: a peer held the group too and this node keeps it; it is
	// announced again when the peer has released it.
	conflict bool
	// yielding: this node releases it because a peer keeps it (heal).
	yielding bool
	// probeNew: added by a reload, probed before the rule places it.
	probeNew bool
	// failedUntil: when the failure here expires (zero: never).
	failedUntil time.Time
	failCount   int
	lastFailure time.Time
	// failbackAt: a failback of the running group to its preferred node
	// is planned for then (failback_delay), logged once.
	failbackAt time.Time
	// wantSaid: the holder our latest announcement named (hbd_want), the
	// one peers consented to or not.
	wantSaid string
	// prepared is the peer whose release of the group this node told
	// the daemon to prepare its start for (PrepareGroup); "" when no
	// peer is releasing it to this node.
	prepared string
	// takeover: the start under way takes the group over from a peer
	// (StartGroup.From); abandoning: why it was called off since
	// (AbandonStart; abandon.go), "" while it was not.
	takeover   bool
	abandoning string
	// saidStarting: our latest announcement listed the group as starting
	// (hbd_starting).
	saidStarting bool
	// viewAt is the group's index in the latest placement view built
	// (buildFacts, facts.of).
	viewAt int
}

func (g *group) holds() bool {
	switch g.state {
	case GroupStarting, GroupRunning, GroupStopping, GroupStopFailed:
		return true
	}
	return false
}

type resources struct {
	groups      []*group
	stopping    bool
	giveUpLog   bool
	stuckLog    bool
	joined      bool
	initialDone bool
	lastSig     string
	txn         *handoff
	pendingWhy  string // which of a standby command, for the next handoff
	awaitDone   string // we released [which] and wait for the peer's done
	standbyFrom map[string]standbyReq
	acqs        []*acquisition
	takeovers   map[string]map[string]bool // dead/stopped peer → its groups (true: started here since)
	epoch       uint64                     // of our latest announcement
	stateEpoch  uint64                     // of our latest announcement that changed what we said
	dirty       bool                       // reconcile on the next event, not only on a tick
	needSync    bool                       // a start waits for peers to see our epoch
	reloaded    bool                       // a reload applied since our latest announcement
	reloads     int                        // reloads applied (a peer's last word, abandon.go)
	keysAdded   int                        // reloads when one last added a group (rekeyPeers)
	syncEpoch   uint64                     // epoch of our last hbd_sync request
	syncAt      time.Time
	noQuorum    bool          // quorum is on and lost (quorum.go)
	fenceUntil  time.Time     // no start before (a cut-off peer may run groups)
	regainUntil time.Time     // no start before while a peer dead here may run groups (quorum.go)
	waitDT      time.Duration // clusterDeadtime the pending waits were sized with (quorumWaitsFollow)

	// unsent: our announcements too long to send (annsize.go).
	unsent unsentAnnouncement

	// stale: something reconcile reads changed since it last ran, or it
	// acted then; the next tick runs it (dirty: the next event does).
	// due: from then on time alone may change what it does (zero: never).
	// A tick with neither skips it (reconcileAfter).
	stale bool
	due   time.Time
}

func (n *Node) initResources() {
	r := &n.res
	r.standbyFrom = make(map[string]standbyReq)
	r.takeovers = make(map[string]map[string]bool)
	// Epochs of this run are above every epoch of an earlier run (a peer's
	// hbd_seen may still name one), as generations only grow.
	r.epoch = n.gen << 32
}

// recheck asks for a reconcile after this event: something the placement
// rule or a start decision reads has changed.
func (n *Node) recheck() {
	n.res.dirty = true
}

// touch asks for a reconcile at the next tick: something reconcile reads
// has changed, but nothing that must be acted on before (a tick comes
// within a keepalive).
func (n *Node) touch() {
	n.res.stale = true
}

func (n *Node) groupByKey(key string) *group {
	for _, g := range n.res.groups {
		if g.key == key {
			return g
		}
	}
	return nil
}

func (n *Node) setState(g *group, st string) {
	g.state = st
	g.since = n.now
	n.view = nil // it says what this node holds (placementFacts)
}

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
