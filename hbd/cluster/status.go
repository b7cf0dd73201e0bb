package cluster

import (
	"fmt"
	"time"
)

// Node and peer states, as Heartbeat names them. StateUnknown is a peer
// this node has not heard since it started.
const (
	StateUnknown = "unknown"
	StateInit    = "init"
	StateUp      = "up"
	StateActive  = "active"
	StateDead    = "dead"
)

// Link states.
const (
	LinkUnknown = "unknown" // never heard on this link
	LinkUp      = "up"
	LinkDead    = "dead"
)

// DropReason says why the core dropped a verified message. The wire
// package has its own reasons for datagrams that never became messages.
type DropReason int

// Reasons the core drops a message.
const (
	// DropMalformed: no src, type, ts, or an unparsable seq / hg / ackseq.
	DropMalformed DropReason = iota
	// DropStaleGeneration: hg older than the peer's newest generation (a
	// replay of a previous run, or a delayed packet from before a restart).
	DropStaleGeneration
	// DropDuplicate: the same seq as the last one, on the same link.
	DropDuplicate
	// DropReplay: a seq already seen that is not a missing one.
	DropReplay
	// DropWrongDest: addressed (dest) to another node; it still counts
	// for liveness and sequence tracking, but is not acted on.
	DropWrongDest
	// DropUnknownNode: src is not a `node` of ha.cf.
	DropUnknownNode
	// DropStaleTimestamp: ts older than this node's clock by more than
	// deadtime + MaxClockSkew + TimestampResolution (a packet captured long
	// ago and replayed).
	DropStaleTimestamp
	numDropReasons
)

var dropNames = [numDropReasons]string{
	DropMalformed:       "malformed",
	DropStaleGeneration: "stale-generation",
	DropDuplicate:       "duplicate",
	DropReplay:          "replay",
	DropWrongDest:       "wrong-dest",
	DropUnknownNode:     "unknown-node",
	DropStaleTimestamp:  "stale-timestamp",
}

func (r DropReason) String() string {
	if r >= 0 && r < numDropReasons {
		return dropNames[r]
	}
	return fmt.Sprintf("drop(%d)", int(r))
}

// Status is a snapshot of the core for `hbd status`. Value types only.
type Status struct {
	Node       string `json:"node"`
	State      string `json:"state"` // init, up, active, dead (stopped)
	Generation uint64 `json:"generation"`
	UUID       string `json:"uuid"`
	Seq        uint64 `json:"seq"` // last seq this node sent
	// Dropped counts every message the core dropped, by reason (including
	// those from unknown nodes, which have no PeerStatus).
	Dropped map[string]uint64 `json:"dropped,omitempty"`
	Peers   []PeerStatus      `json:"peers"`
	// Groups are the haresources groups, in file order.
	Groups []GroupStatus `json:"groups,omitempty"`
	// Standby is the class of groups this node stands by for (none,
	// local, foreign, all), relative to this node.
	Standby string `json:"standby"`
	// Stopping: a graceful stop is releasing the groups.
	Stopping bool `json:"stopping,omitempty"`
	// NoQuorum: quorum is on and this node sees fewer than a majority of
	// the ha.cf nodes alive: it holds nothing and starts nothing.
	NoQuorum bool `json:"no_quorum,omitempty"`
	// InStandby: an operator put this node in standby (hbd node standby).
	InStandby bool `json:"in_standby,omitempty"`
	// Settings are the cluster-wide operator settings as this node knows
	// them (settings.go).
	Settings []Setting `json:"settings,omitempty"`
	// Fences are the silent nodes a takeover here waits to see fenced
	// (hbd node fenced NODE), with where each wait stands, in ha.cf
	// order: to be fenced, or (profile safe, no fencing method) to be
	// heard again or confirmed off by the operator.
	Fences []FenceWait `json:"fences,omitempty"`
	// StartsBlocked says why no resource group may start here now, ""
	// when nothing holds starts back (fences, safe_start_delay, ping).
	StartsBlocked string `json:"starts_blocked,omitempty"`
	// Quiet is this node's status interval while it is quiet (holding
	// nothing: quiet_passive), 0 otherwise.
	Quiet time.Duration `json:"quiet,omitempty"`
}

// FenceWait is one silent peer a takeover waits for.
type FenceWait struct {
	Node     string    `json:"node"`
	Since    time.Time `json:"since"` // declared dead
	InFlight bool      `json:"in_flight,omitempty"`
	Attempts int       `json:"attempts,omitempty"`
	// NoMethod: no fence_command or fence_aws; only hearing the peer
	// again (or hbd node fenced) ends the wait.
	NoMethod bool `json:"no_method,omitempty"`
}

// PeerStatus is what this node knows about one other node.
type PeerStatus struct {
	Name       string    `json:"name"`
	State      string    `json:"state"` // unknown, init, up, active, dead
	LastHeard  time.Time `json:"last_heard"`
	Generation uint64    `json:"generation"`
	UUID       string    `json:"uuid,omitempty"`
	Seq        uint64    `json:"seq"` // last in-order seq received
	// Deadtime is the silence after which the peer is declared dead: our
	// own deadtime (a peer's announced dt is not obeyed: see
	// Node.peerDeadline), times Quiet / keepalive while it is quiet.
	Deadtime time.Duration `json:"deadtime"`
	// Quiet is the status interval the peer said it keeps while it holds
	// nothing (hbd_quiet), 0 while it sends every keepalive.
	Quiet time.Duration `json:"quiet,omitempty"`
	// DeadAt is when it is declared dead if nothing more is heard of it
	// (zero once it is dead).
	DeadAt time.Time `json:"dead_at,omitzero"`
	// Lost counts seqs that were missing when a later one arrived;
	// Recovered how many of those arrived afterwards (late or resent).
	Lost      uint64            `json:"lost"`
	Recovered uint64            `json:"recovered"`
	Missing   int               `json:"missing"` // seqs still being asked for
	Dropped   map[string]uint64 `json:"dropped,omitempty"`
	// Late counts status intervals longer than warntime; WorstInterval
	// is the longest interval seen between two status messages.
	Late          uint64        `json:"late"`
	WorstInterval time.Duration `json:"worst_interval"`
	Links         []LinkStatus  `json:"links"`
	// InStandby: an operator put the peer in standby (hbd node standby).
	InStandby bool `json:"in_standby,omitempty"`
	// Since is when State last changed (zero: never heard).
	Since time.Time `json:"since,omitzero"`
}

// LinkStatus is one medium as seen from one peer.
type LinkStatus struct {
	Name      string    `json:"name"`
	State     string    `json:"state"` // unknown, up, dead
	LastHeard time.Time `json:"last_heard"`
}

func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func dropMap(c *[numDropReasons]uint64) map[string]uint64 {
	var m map[string]uint64
	for r, v := range c {
		if v == 0 {
			continue
		}
		if m == nil {
			m = make(map[string]uint64)
		}
		m[DropReason(r).String()] = v
	}
	return m
}

// Status returns a snapshot of this node and its peers.
func (n *Node) Status() Status {
	st := Status{
		Node:       n.name,
		State:      n.state,
		Generation: n.gen,
		UUID:       formatUUID(n.uuid),
		Seq:        n.seq,
		Dropped:    dropMap(&n.dropped),
		Groups:     n.groupStatus(),
		Standby:    n.standbyState(),
		Stopping:   n.res.stopping,
		NoQuorum:   !n.hasQuorum(),
		InStandby:  n.sets.nodeStandby(n.name),
		Settings:   n.sets.list(),
	}
	if n.q.phase == quietOn {
		st.Quiet = n.q.every
	}
	for _, name := range n.cfg.Nodes {
		if f := n.sb.fences[name]; f != nil {
			st.Fences = append(st.Fences, FenceWait{Node: name, Since: f.since, InFlight: f.inFlight, Attempts: f.attempts,
				NoMethod: !n.cfg.Fence.Enabled()})
		}
	}
	if len(n.res.groups) > 0 {
		st.StartsBlocked = n.startBlock()
	}
	for _, p := range n.peers {
		ps := PeerStatus{
			Name:          p.name,
			State:         p.stateName(),
			LastHeard:     p.lastHeard,
			Generation:    p.gen,
			Seq:           p.lastSeq,
			Deadtime:      n.peerDeadtime(p),
			Quiet:         p.quietShown(),
			Lost:          p.lost,
			Recovered:     p.recovered,
			Missing:       len(p.missing),
			Dropped:       dropMap(&p.dropped),
			Late:          p.late,
			WorstInterval: p.worst,
			InStandby:     n.sets.nodeStandby(p.name),
			Since:         p.stateSince,
		}
		if p.uuidKnown {
			ps.UUID = formatUUID(p.uuid)
		}
		if p.state != StateDead || n.returnedDead(p) {
			ps.DeadAt = n.peerDeadline(p)
		}
		for _, l := range p.links {
			ps.Links = append(ps.Links, LinkStatus{Name: l.name, State: l.stateName(), LastHeard: l.lastHeard})
		}
		st.Peers = append(st.Peers, ps)
	}
	return st
}

// PeerView returns a peer's state and newest generation without building
// a whole Status (the simulation asks after every event).
func (n *Node) PeerView(name string) (state string, generation uint64, ok bool) {
	p := n.peerByName(name)
	if p == nil {
		return "", 0, false
	}
	return p.stateName(), p.gen, true
}

// PeerHolds says whether a peer's latest announcement, as this node
// applied it, lists group key as held, and as starting (hbd_starting);
// false for a peer it does not see alive (the simulation's checks).
func (n *Node) PeerHolds(name, key string) (held, starting bool) {
	p := n.peerByName(name)
	if p == nil || !n.live(p) {
		return false, false
	}
	return p.rsc.held[key], p.rsc.starting[key]
}

// Drops returns how many messages this node dropped for reason r (Status's
// Dropped, one count without building a Status: the simulation asks after
// every delivery in its clock runs).
func (n *Node) Drops(r DropReason) uint64 {
	if r < 0 || r >= numDropReasons {
		return 0
	}
	return n.dropped[r]
}

// State returns this node's own state (init, up, active, dead) without
// building a Status.
func (n *Node) State() string { return n.state }

// Group returns one group's status (as in Status().Groups).
func (n *Node) Group(key string) (GroupStatus, bool) {
	g := n.groupByKey(key)
	if g == nil {
		return GroupStatus{}, false
	}
	return n.groupStatusOf(g), true
}

// Stopping reports whether a graceful stop is releasing the groups.
func (n *Node) Stopping() bool { return n.res.stopping }

// HasQuorum reports whether this node sees a majority of the ha.cf nodes
// alive, itself included (always true when quorum is off: two nodes with
// quorum auto, or quorum off).
func (n *Node) HasQuorum() bool { return n.hasQuorum() }

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
	// Disabled: an operator disabled the group (hbd group disable).
	Disabled bool `json:"disabled,omitempty"`
	// MovedTo, MovedAway: an operator moved the group to that node, or
	// away from it (hbd group move), until hbd group clear.
	MovedTo   string `json:"moved_to,omitempty"`
	MovedAway string `json:"moved_away,omitempty"`
}

// groupStatus lists the groups for Status.
func (n *Node) groupStatus() []GroupStatus {
	var out []GroupStatus
	for _, g := range n.res.groups {
		out = append(out, n.groupStatusOf(g))
	}
	return out
}

func (n *Node) groupStatusOf(g *group) GroupStatus {
	gs := GroupStatus{Key: g.key, Preferred: g.pref, State: g.state, Since: g.since, LastError: g.lastErr, Standby: g.standby, Failed: g.failed, Yielding: g.yielding,
		FailCount: g.failCount, LastFailure: g.lastFailure}
	if g.failed {
		gs.FailedUntil = g.failedUntil
	}
	gs.Disabled = n.sets.disabled(g.key)
	gs.MovedTo, gs.MovedAway = n.sets.move(g.key)
	if g.state != GroupProbing && !g.removed {
		gs.Desired = n.desired(g)
	}
	if g.holds() {
		gs.Holder = n.name
	} else if hs := n.holders(g); len(hs) > 0 {
		gs.Holder = hs[0]
		if g.state == GroupStopped {
			gs.State = GroupRunning
		}
	}
	return gs
}

// standbyState summarizes the groups this node stands by for.
func (n *Node) standbyState() string {
	var gs []*group
	for _, g := range n.res.groups {
		if g.standby {
			gs = append(gs, g)
		}
	}
	return classify(gs, n.name)
}

// Timings are the membership timings a node runs with.
type Timings struct {
	Keepalive, Warntime, Deadtime, Initdead time.Duration
}

// Timings returns the timings of the configuration in force (during a
// reload's transition a longer old deadtime still applies: see
// PeerStatus.Deadtime).
func (n *Node) Timings() Timings {
	return Timings{Keepalive: n.keepalive, Warntime: n.warntime, Deadtime: n.deadtime, Initdead: n.initdead}
}
