package cluster

import (
	"sort"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Resource-group classes as Heartbeat's rsc_hold names them, relative to
// the node that sends (or runs) them.
const (
	HoldNone    = "none"
	HoldLocal   = "local"
	HoldForeign = "foreign"
	HoldAll     = "all"
)

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
}

func (g *group) holds() bool {
	switch g.state {
	case GroupStarting, GroupRunning, GroupStopping, GroupStopFailed:
		return true
	}
	return false
}

// peerRsc is what a peer announced in its latest resource message.
type peerRsc struct {
	announced bool      // a resource message of its current run arrived
	since     time.Time // when that first announcement arrived (failback_delay)
	seq       uint64    // seq of the message applied (older ones are ignored)
	hbd       bool      // it sends hbd_ fields (an hbd node)
	held      map[string]bool
	standby   map[string]bool
	failed    map[string]bool
	stuck     map[string]bool // stop-failed there
	want      map[string]string
	stopping  bool      // announced a graceful shutdown
	sentTo    bool      // we announced our groups since it was (re)heard
	askedAt   time.Time // we last asked it to announce (hbd_ask)
	epoch     uint64    // its latest announcement's hbd_epoch
	seenMe    uint64    // the newest of our epochs it had seen then
	echoed    uint64    // the last of its epochs we echoed (hbd_sync)
	meSeq     uint64    // seq of its ask_resources info=me we serve
	doneSeq   uint64    // seq of its last ask_resources info=done
	// hold is a Heartbeat peer's rsc_hold (holdBits), kept as Heartbeat
	// keeps other_holds_resources: a full update replaces it, a partial
	// one (mach_down) adds to it.
	hold int
}

// Heartbeat's rsc_hold as bits (HB_LOCAL_RSC, HB_FOREIGN_RSC).
const (
	holdLocalBit   = 1
	holdForeignBit = 2
)

func holdBits(w string) int {
	switch w {
	case HoldLocal:
		return holdLocalBit
	case HoldForeign:
		return holdForeignBit
	case HoldAll:
		return holdLocalBit | holdForeignBit
	}
	return 0
}

// handoff is a release of groups to the other nodes with Heartbeat's
// ask_resources handshake (standby, failback).
type handoff struct {
	which     string
	groups    map[string]bool
	releasing bool // info=other arrived; stops issued
	deadline  time.Time
}

// acquisition is a standby acquisition: a peer released groups to us
// (ask_resources info=done) and we start those the rule gives us.
type acquisition struct {
	from, which string
	groups      map[string]bool
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
	standbyFrom map[string]string
	acqs        []*acquisition
	takeovers   map[string]map[string]bool // dead/stopped peer → its groups
	epoch       uint64                     // of our latest announcement
	stateEpoch  uint64                     // of our latest announcement that changed what we said
	dirty       bool                       // reconcile on the next event, not only on a tick
	needSync    bool                       // a start waits for peers to see our epoch
	syncEpoch   uint64                     // epoch of our last hbd_sync request
	syncAt      time.Time
	noQuorum    bool      // quorum is on and lost (quorum.go)
	fenceUntil  time.Time // no start before (a cut-off peer may run groups)
}

func (n *Node) initResources() {
	r := &n.res
	r.standbyFrom = make(map[string]string)
	r.takeovers = make(map[string]map[string]bool)
	for _, cg := range n.cfg.Groups {
		key := cg.Key()
		if key == "" || n.groupByKey(key) != nil {
			continue
		}
		r.groups = append(r.groups, &group{key: key, pref: cg.Preferred, spec: cg, state: GroupStopped, since: n.now})
	}
	for _, p := range n.peers {
		p.rsc.askedAt = n.now
	}
	// Epochs of this run are above every epoch of an earlier run (a peer's
	// hbd_seen may still name one), as generations only grow.
	r.epoch = n.gen << 32
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
}

// --- boot: probe, release before join ---

func (n *Node) probeGroups() {
	for _, g := range n.res.groups {
		n.setState(g, GroupProbing)
		n.out = append(n.out, ProbeGroup{Group: g.key, Spec: g.spec})
	}
}

// bootReleased is true when every group was probed and every group found
// running was stopped: only then does the node join the cluster.
func (n *Node) bootReleased() bool {
	for _, g := range n.res.groups {
		if g.state == GroupProbing || g.bootRelease && g.state == GroupStopping {
			return false
		}
	}
	return true
}

func (n *Node) joinedCluster() {
	n.res.dirty = true
	if len(n.res.groups) == 0 {
		return
	}
	n.res.joined = true
	n.announce("")
}

// --- events ---

func (n *Node) opDone(e OpDone) {
	n.res.dirty = true
	g := n.groupByKey(e.Group)
	if g == nil {
		n.logf(LevelWarn, "Result of %s for unknown resource group %s ignored", e.Op, e.Group)
		return
	}
	detail := e.Detail
	if detail == "" {
		detail = e.Result.String()
	}
	defer n.settleDefinition(g)
	switch e.Op {
	case OpProbe:
		if g.state != GroupProbing {
			return
		}
		defer func() { g.probeNew = false }()
		switch e.Result {
		case ResultStopped:
			n.setState(g, GroupStopped)
		case ResultRunning:
			if g.probeNew {
				n.logf(LevelWarn, "Resource group %s, new in the configuration, is running here already: releasing it before the rule places it", g.key)
				g.bootRelease = true
				n.stopGroup(g)
				break
			}
			n.logf(LevelWarn, "Resource group %s is running, but this node did not start it (its daemon was restarted?): releasing it before joining the cluster", g.key)
			g.bootRelease = true
			n.stopGroup(g)
		default:
			n.logf(LevelError, "Status of resource group %s unknown (%s): stopping it before joining the cluster", g.key, detail)
			g.bootRelease = true
			n.stopGroup(g)
		}
	case OpStart:
		if g.state != GroupStarting {
			return
		}
		switch e.Result {
		case ResultOK:
			n.setState(g, GroupRunning)
			// g.standby stays: an operator's standby that came while the
			// group was starting is honoured once it runs.
			g.lastErr = ""
		case ResultStopFailed:
			g.lastErr = detail
			n.setState(g, GroupStopFailed)
			n.logf(LevelCrit, "Resource group %s failed to start and its rollback failed (%s): it may still run here; no node will start it until an operator runs hbd cleanup", g.key, detail)
		default:
			g.lastErr = detail
			n.recordFailure(g)
			n.setState(g, GroupFailed)
			n.logf(LevelError, "Resource group %s failed to start here (%s): not retried on this node %s; another node may take it", g.key, detail, n.failureLasts(g))
		}
	case OpStop:
		if g.state != GroupStopping {
			return
		}
		if e.Result == ResultOK {
			n.setState(g, GroupStopped)
			if g.failed {
				n.setState(g, GroupFailed) // released after GroupFailed
			}
			if g.bootRelease && !g.probeNew && !n.res.joined {
				n.logf(LevelInfo, "Resource group %s released before joining", g.key)
			}
		} else {
			g.lastErr = detail
			n.setState(g, GroupStopFailed)
			n.logf(LevelCrit, "Resource group %s failed to stop (%s): it may still run here; no node will start it until an operator runs hbd cleanup", g.key, detail)
		}
		g.bootRelease = false
		g.yielding = false
	}
}

func (n *Node) startGroup(g *group) {
	n.setState(g, GroupStarting)
	n.out = append(n.out, StartGroup{Group: g.key, Spec: g.spec})
}

func (n *Node) stopGroup(g *group) {
	n.setState(g, GroupStopping)
	n.out = append(n.out, StopGroup{Group: g.key, Spec: g.spec})
}

// normWhich maps hb_standby's argument to rsc_hold's words.
func normWhich(w string) (string, bool) {
	switch strings.ToLower(strings.TrimSpace(w)) {
	case "", HoldAll:
		return HoldAll, true
	case HoldForeign, "failback":
		return HoldForeign, true
	case HoldLocal:
		return HoldLocal, true
	}
	return "", false
}

// inClass says whether g is in class which relative to node.
func inClass(g *group, which, node string) bool {
	switch which {
	case HoldAll:
		return true
	case HoldLocal:
		return g.pref == node
	case HoldForeign:
		return g.pref != node
	}
	return false
}

func (n *Node) command(c Command) {
	n.res.dirty = true
	switch c.Kind {
	case CmdStandby, CmdTakeover:
		which, ok := normWhich(c.Which)
		if !ok {
			n.logf(LevelError, "%s: unknown resource class [%s] (all, foreign, failback or local)", c.Kind, c.Which)
			return
		}
		if len(n.res.groups) == 0 {
			return
		}
		if !n.res.joined || n.res.stopping || n.livePeers() == 0 {
			n.logf(LevelWarn, "%s [%s] ignored: no other active node, or this node has not joined", c.Kind, which)
			return
		}
		if c.Kind == CmdStandby {
			n.logf(LevelInfo, "Going standby [%s].", which)
			n.goStandby(which, n.name)
			return
		}
		n.logf(LevelInfo, "Taking over [%s] resources from the other nodes (hb_takeover).", which)
		for _, g := range n.res.groups {
			if inClass(g, which, n.name) {
				g.standby = false
			}
		}
		m := &wire.Message{}
		m.Set("t", "hb_takeover")
		m.Set("rsc_hold", which)
		n.sendMessage(m)
	case CmdCleanup:
		for _, g := range n.res.groups {
			if c.Which != "" && c.Which != HoldAll && c.Which != g.key {
				continue
			}
			switch {
			case g.state == GroupStopFailed:
				n.logf(LevelInfo, "cleanup: stopping resource group %s again", g.key)
				n.stopGroup(g)
			case g.failed:
				n.logf(LevelInfo, "cleanup: resource group %s may start here again", g.key)
				g.failed = false
				g.failedUntil = time.Time{}
				if g.state == GroupFailed {
					n.setState(g, GroupStopped)
				}
			}
			g.failCount = 0
		}
	}
}

// goStandby marks the groups in class which (relative to node rel) as
// given away by this node; reconcile hands over those it holds.
func (n *Node) goStandby(which, rel string) {
	for _, g := range n.res.groups {
		if inClass(g, which, rel) {
			g.standby = true
		}
	}
	n.res.pendingWhy = which
	if rel != n.name {
		n.res.pendingWhy = ""
	}
}

// --- messages from peers ---

func splitSet(s string) map[string]bool {
	m := make(map[string]bool)
	for _, k := range strings.Split(s, "|") {
		if k != "" {
			m[k] = true
		}
	}
	return m
}

func (n *Node) onResource(p *peer, seq uint64, m *wire.Message) {
	// Recorded even while this node has no groups: a reload may give it
	// some, and the rule needs what the peers said.
	r := &p.rsc
	if r.announced && seq < r.seq {
		return // overtaken by a newer announcement
	}
	if !r.announced {
		r.since = n.now
	}
	r.announced = true
	r.seq = seq
	info := m.Value("info")
	if held, ok := m.Get("hbd_held"); ok {
		r.hbd = true
		r.held = splitSet(held)
		r.standby = splitSet(m.Value("hbd_standby"))
		r.failed = splitSet(m.Value("hbd_failed"))
		r.stuck = splitSet(m.Value("hbd_stopfailed"))
		r.want = make(map[string]string)
		for _, kv := range strings.Split(m.Value("hbd_want"), "|") {
			if i := strings.LastIndexByte(kv, '>'); i > 0 {
				r.want[kv[:i]] = kv[i+1:]
			}
		}
	} else {
		hold := m.Value("rsc_hold")
		held := make(map[string]bool)
		// Heartbeat says rsc_hold=none info=shutdown before it gives its
		// groups up (hb_giveup_resources), and shutdone once they are
		// down: until then they still run there.
		if info == "mach_down" || info == "shutdown" {
			for k := range r.held {
				held[k] = true
			}
		}
		for _, g := range n.res.groups {
			if hold != HoldNone && inClass(g, hold, p.name) {
				held[g.key] = true
			}
		}
		r.held = held
		switch bits := holdBits(hold); {
		case m.Value("rtype") == "full" || bits == 0:
			r.hold = bits
		default:
			r.hold |= bits
		}
	}
	for _, name := range strings.Split(m.Value("hbd_ask"), "|") {
		if name == n.name {
			r.sentTo = false // it missed our announcement: send it again
		}
	}
	if e, ok := parseHex(m.Value("hbd_epoch")); ok {
		r.epoch = e
		r.seenMe = 0
		for _, kv := range strings.Split(m.Value("hbd_seen"), "|") {
			if name, v, ok := strings.Cut(kv, ":"); ok && name == n.name {
				r.seenMe, _ = parseHex(v)
			}
		}
		if m.Value("hbd_sync") == "1" && e > r.echoed {
			r.echoed = e
			r.sentTo = false // it waits until we have seen its state
		}
	}
	// An hbd peer says isstable=1 only once its handoff is over (its done
	// is late). A Heartbeat peer's isstable is not about its standby: it
	// says isstable=1 in the middle of one (when our announcement made it
	// consider us stable again), and waits for our done; only its own
	// done ends the handoff.
	if _, ok := n.res.standbyFrom[p.name]; ok && r.hbd && seq > r.meSeq && m.Value("isstable") == "1" {
		delete(n.res.standbyFrom, p.name)
	}
	if (info == "shutdown" || m.Value("hbd_stopping") == "1") && !r.stopping {
		r.stopping = true
		n.peerLeaving(p)
	}
}

// peerShutdown: a shutdone arrived (the graceful stop is complete): it
// holds nothing any more.
func (n *Node) peerShutdown(p *peer) {
	n.res.dirty = true
	p.rsc.held = nil
	if !p.rsc.stopping {
		p.rsc.stopping = true
		n.peerLeaving(p)
	}
}

// peerLeaving records the groups of a peer that stops or died, for the
// "mach_down takeover complete" line once they are taken over.
func (n *Node) peerLeaving(p *peer) {
	if len(n.res.groups) == 0 {
		return
	}
	set := make(map[string]bool)
	for _, g := range n.res.groups {
		if g.pref == p.name || p.rsc.held[g.key] {
			set[g.key] = true
		}
	}
	if len(set) == 0 {
		return
	}
	if _, ok := n.res.takeovers[p.name]; !ok {
		n.logf(LevelInfo, "Resources being acquired from %s.", p.name)
	}
	n.res.takeovers[p.name] = set
}

// peerGone: the peer was declared dead; it holds nothing any more.
func (n *Node) peerGone(p *peer) {
	n.res.dirty = true
	if len(n.res.groups) == 0 {
		return
	}
	n.fenceDeath(p)
	if !p.rsc.stopping {
		n.peerLeaving(p)
	} else {
		n.logf(LevelInfo, "Dead node %s gave up resources.", p.name)
	}
	// A node that announced its graceful stop stays stopping until it
	// restarts (a new generation): Heartbeat sends status and resource
	// messages for about 2 s after its shutdone, which must not make it
	// eligible again (a failback to a node on its way out).
	p.rsc = peerRsc{askedAt: n.now, stopping: p.rsc.stopping}
	delete(n.res.standbyFrom, p.name)
}

// peerRestarted: a new generation of the peer was heard (it restarted
// before we declared it dead): forget what its previous run announced and
// any handshake with it.
func (n *Node) peerRestarted(p *peer) {
	p.rsc = peerRsc{askedAt: n.now}
	delete(n.res.standbyFrom, p.name)
}

func (n *Node) onAskResources(p *peer, seq uint64, m *wire.Message) {
	if len(n.res.groups) == 0 {
		return
	}
	which, ok := normWhich(m.Value("rsc_hold"))
	if !ok {
		return
	}
	switch m.Value("info") {
	case "me":
		if seq < p.rsc.doneSeq {
			return // overtaken by its done: that handoff is over
		}
		p.rsc.meSeq = seq
		n.logf(LevelInfo, "%s wants to go standby [%s]", p.name, which)
		if !n.res.joined || n.res.stopping {
			return
		}
		// The peer gives these groups to us: we stand by for none of them.
		for _, g := range n.res.groups {
			if inClass(g, which, p.name) {
				g.standby = false
			}
		}
		n.heartbeatPeerStandby(p, which, true)
		n.res.standbyFrom[p.name] = which
		r := &wire.Message{}
		r.Set("t", "ask_resources")
		r.Set("rsc_hold", which)
		r.Set("info", "other")
		n.sendMessage(r)
	case "other":
		t := n.res.txn
		if t == nil || t.releasing {
			return
		}
		n.logf(LevelInfo, "standby: %s can take our %s resources", p.name, t.which)
		n.logf(LevelInfo, "give up %s HA resources (standby).", t.which)
		t.releasing = true
		for _, g := range n.res.groups {
			if t.groups[g.key] && g.state == GroupRunning && n.desired(g) != n.name {
				n.stopGroup(g)
			}
		}
	case "done":
		if seq > p.rsc.doneSeq {
			p.rsc.doneSeq = seq
		}
		if w, ok := n.res.standbyFrom[p.name]; ok && seq > p.rsc.meSeq {
			delete(n.res.standbyFrom, p.name)
			n.logf(LevelInfo, "standby: acquire [%s] resources from %s", w, p.name)
			a := &acquisition{from: p.name, which: w, groups: make(map[string]bool)}
			for _, g := range n.res.groups {
				if inClass(g, w, p.name) {
					a.groups[g.key] = true
				}
			}
			n.res.acqs = append(n.res.acqs, a)
		} else if n.res.awaitDone != "" {
			n.logf(LevelInfo, "Other node completed standby takeover of %s resources.", n.res.awaitDone)
			n.res.awaitDone = ""
			if !p.rsc.hbd {
				// Heartbeat answers its peer's done with resource …
				// isstable=1 and needs ours: it marked us unstable at
				// our info=me, and a Heartbeat node waits for a stable
				// peer before anything else (heartbeat -k, hb_standby).
				n.announce("")
			}
		}
	}
}

// onHBTakeover: the peer asks for the groups in class which (relative to
// it); as Heartbeat's rc.d/hb_takeover, this node goes standby for them.
func (n *Node) onHBTakeover(p *peer, m *wire.Message) {
	if len(n.res.groups) == 0 || !n.res.joined || n.res.stopping {
		return
	}
	which, ok := normWhich(m.Value("rsc_hold"))
	if !ok {
		return
	}
	n.logf(LevelInfo, "%s asks for [%s] resources (hb_takeover): going standby for them", p.name, which)
	n.heartbeatPeerStandby(p, which, false)
	n.goStandby(which, p.name)
}

// heartbeatPeerStandby records a Heartbeat peer's standby (its
// ask_resources info=me) or its end (its hb_takeover) for the groups in
// class which relative to it that it prefers: an hbd peer says what it
// stands by for in hbd_standby, a Heartbeat peer only in its handshake.
// Without it the rule would hand a Heartbeat node that went standby its
// preferred groups straight back (auto_failback), or never take them
// from it. Groups it does not prefer need no flag: once it released
// them, the rule places them by preference. The flag lasts until its
// hb_takeover, its restart or its death, as Heartbeat's standby lasts.
func (n *Node) heartbeatPeerStandby(p *peer, which string, on bool) {
	r := &p.rsc
	if r.hbd {
		return
	}
	if r.standby == nil {
		r.standby = make(map[string]bool)
	}
	for _, g := range n.res.groups {
		if g.pref == p.name && inClass(g, which, p.name) {
			if on {
				r.standby[g.key] = true
			} else {
				delete(r.standby, g.key)
			}
		}
	}
}

// --- the placement rule ---

func (n *Node) live(p *peer) bool { return p.heard && p.state != StateDead }

func (n *Node) livePeers() int {
	c := 0
	for _, p := range n.peers {
		if n.live(p) {
			c++
		}
	}
	return c
}

// eligible: the node may hold g (active, joined, announced, not
// stopping, g did not fail there).
func (n *Node) eligible(node string, g *group) bool {
	if !n.hasQuorum() {
		return false // without a majority, nobody holds anything (for us)
	}
	if node == n.name {
		if !n.res.joined || n.state != StateActive || n.res.stopping || g.failed {
			return false
		}
		return !n.exclBlocked(node, g)
	}
	p := n.peerByName(node)
	if p == nil || !n.live(p) || p.state != StateActive {
		return false
	}
	r := &p.rsc
	return r.announced && !r.stopping && !r.failed[g.key] && !n.exclBlocked(node, g)
}

func (n *Node) willing(node string, g *group) bool {
	if !n.eligible(node, g) || n.pingWorse(node, g) {
		return false
	}
	if node == n.name {
		return !g.standby
	}
	return !n.peerByName(node).rsc.standby[g.key]
}

// holders lists the nodes holding g as this node knows it (itself, and
// live peers whose latest announcement lists it), in ha.cf order from
// the preferred node on.
func (n *Node) holders(g *group) []string {
	var hs []string
	for _, name := range n.fromPreferred(g) {
		if name == n.name {
			if g.holds() {
				hs = append(hs, name)
			}
			continue
		}
		if p := n.peerByName(name); p != nil && n.live(p) && p.rsc.held[g.key] {
			hs = append(hs, name)
		}
	}
	return hs
}

// fromPreferred is ha.cf's node order starting at g's preferred node,
// wrapping.
func (n *Node) fromPreferred(g *group) []string {
	nodes := n.cfg.Nodes
	start := 0
	for i, name := range nodes {
		if name == g.pref {
			start = i
		}
	}
	out := make([]string, 0, len(nodes))
	for i := range nodes {
		out = append(out, nodes[(start+i)%len(nodes)])
	}
	return out
}

// desired is the placement rule (doc.go, "Who holds a group"):
//  1. auto_failback on/legacy: the preferred node, if willing;
//  2. the current holder, if willing (groups do not move needlessly);
//  3. the first willing node from the preferred one on, in ha.cf order;
//  4. the first eligible node so (a node standing by still takes a group
//     nobody else can hold);
//  5. nobody.
func (n *Node) desired(g *group) string {
	order := n.fromPreferred(g)
	if n.cfg.AutoFailback != config.FailbackOff && n.willing(g.pref, g) {
		return g.pref
	}
	if hs := n.holders(g); len(hs) > 0 && n.willing(hs[0], g) {
		return hs[0]
	}
	for _, name := range order {
		if n.willing(name, g) {
			return name
		}
	}
	for _, name := range order {
		if n.eligible(name, g) {
			return name
		}
	}
	return ""
}

// canStart: no live peer holds g or has not told us what it holds, and
// every live hbd peer's rule gives g to this node too.
func (n *Node) canStart(g *group) bool {
	if !n.sbMayStart(g) {
		return false
	}
	for _, p := range n.peers {
		if !n.live(p) {
			continue
		}
		r := &p.rsc
		if !r.announced || r.held[g.key] {
			return false
		}
		if r.hbd && r.want[g.key] != n.name {
			return false
		}
		// Its latest announcement must have been made after it saw our
		// latest one: a want computed from our older state is no consent
		// (both could otherwise start a group within one message delay).
		if r.hbd && r.seenMe < n.res.stateEpoch {
			n.res.needSync = true
			return false
		}
		// A standby handoff from it is under way: acquire after its
		// ask_resources info=done, as Heartbeat does.
		if w, ok := n.res.standbyFrom[p.name]; ok && inClass(g, w, p.name) {
			return false
		}
	}
	return true
}

// --- reconcile: compare what is with what the rule wants, act ---

func (n *Node) reconcile() {
	r := &n.res
	if len(r.groups) == 0 {
		return
	}
	n.expireFailures()
	if r.stopping {
		n.reconcileStop()
		return
	}
	n.reconcileRetired()
	if !r.joined || n.state != StateActive {
		return
	}
	n.checkQuorum()
	var handOver []*group
	for _, g := range r.groups {
		if g.removed || g.next != nil {
			continue // being stopped (reconcileRetired)
		}
		switch g.state {
		case GroupRunning:
			if g.failed {
				// GroupFailure while it was starting: release it at once.
				n.stopGroup(g)
				continue
			}
			if n.resolveConflict(g) {
				continue
			}
			if n.exclBlocked(n.name, g) {
				// A group before it in its exclusive set holds this node
				// (or is to): release it here at once, the higher one
				// starts after.
				n.logf(LevelInfo, "Releasing resource group %s: an exclusive group listed before it runs here or is placed here", g.key)
				n.stopGroup(g)
				continue
			}
			if d := n.desired(g); d != n.name && d != "" {
				if n.failbackHeld(g, d) {
					continue
				}
				if r.txn == nil {
					handOver = append(handOver, g)
				}
			} else {
				g.failbackAt = time.Time{}
			}
		case GroupStopped, GroupFailed:
			if g.conflict {
				g.conflict = false
			}
			if n.desired(g) != n.name {
				continue
			}
			if !n.canStart(g) || n.fenced() {
				continue
			}
			if g.failed {
				continue
			}
			if n.exclHeldHere(g) != nil {
				continue // released first (exclusive)
			}
			for peer, set := range r.takeovers {
				if set[g.key] {
					n.logf(LevelInfo, "Taking over resource group %s (from %s)", g.key, peer)
				}
			}
			n.startGroup(g)
		}
	}
	if len(handOver) > 0 && n.livePeers() > 0 {
		n.beginHandoff(handOver)
	}
	n.progressHandoff()
	n.progressAcquisitions()
	n.progressTakeovers()
	if !r.initialDone && n.initialAcquired() {
		r.initialDone = true
		n.logf(LevelInfo, "Local Resource acquisition completed.")
	}
	if r.txn != nil && r.txn.releasing {
		return // the release ends with its own announcement
	}
	if sig := n.rscSignature(); sig != r.lastSig || !n.announcedToAll() || n.mustAsk() || n.mustSync() {
		n.announce("")
	}
	r.needSync = false
}

// initialAcquired: every peer announced its groups and every group the
// rule gives this node runs (or failed) here.
func (n *Node) initialAcquired() bool {
	if !n.allAnnounced() {
		return false
	}
	for _, g := range n.res.groups {
		if g.removed || g.next != nil {
			continue
		}
		if n.desired(g) == n.name && g.state != GroupRunning && g.state != GroupFailed && g.state != GroupStopFailed {
			return false
		}
	}
	return true
}

func (n *Node) anyStarting() bool {
	for _, g := range n.res.groups {
		if g.state == GroupStarting {
			return true
		}
	}
	return false
}

func (n *Node) allAnnounced() bool {
	for _, p := range n.peers {
		if n.live(p) && !p.rsc.announced {
			return false
		}
	}
	return true
}

// mustAsk: a joined peer has not announced its groups (its announcement
// was lost while it was dead to us, or sent before its restart was seen):
// ask it again, at most every two keepalives.
func (n *Node) mustAsk() bool {
	for _, p := range n.peers {
		if n.live(p) && p.state == StateActive && !p.rsc.announced && n.now.Sub(p.rsc.askedAt) >= 2*n.keepalive {
			return true
		}
	}
	return false
}

// mustSync: a start waits for peers to confirm they saw our latest
// announcement: ask them (hbd_sync=1), again after two keepalives.
func (n *Node) mustSync() bool {
	r := &n.res
	return r.needSync && (r.syncEpoch < r.stateEpoch || n.now.Sub(r.syncAt) >= 2*n.keepalive)
}

func (n *Node) askList() string {
	var names []string
	for _, p := range n.peers {
		if n.live(p) && p.state == StateActive && !p.rsc.announced {
			names = append(names, p.name)
			p.rsc.askedAt = n.now
		}
	}
	return strings.Join(names, "|")
}

func (n *Node) announcedToAll() bool {
	for _, p := range n.peers {
		if n.live(p) && !p.rsc.sentTo {
			return false
		}
	}
	return true
}

// resolveConflict handles a group this node runs that a live peer also
// announces (a healed partition): the keeper is the first holder from the
// preferred node on; the other releases at once.
func (n *Node) resolveConflict(g *group) bool {
	hs := n.holders(g)
	if len(hs) < 2 {
		if g.conflict {
			g.conflict = false
			n.logf(LevelInfo, "Resource group %s is held here only again: announcing it again", g.key)
			n.out = append(n.out, Reannounce{Group: g.key})
		}
		return false
	}
	// A holder whose stop failed cannot release and may not even run the
	// group: the keeper is the first holder that runs it normally.
	keeper := ""
	for _, h := range hs {
		if h == n.name || !n.peerByName(h).rsc.stuck[g.key] {
			keeper = h
			break
		}
	}
	if keeper == n.name {
		if !g.conflict {
			g.conflict = true
			n.logf(LevelWarn, "Resource group %s is also held by %s: keeping it here (partition healed?) and announcing it again", g.key, strings.Join(hs[1:], " "))
			n.out = append(n.out, Reannounce{Group: g.key})
		}
		return true
	}
	n.logf(LevelWarn, "Resource group %s is also held by %s, which keeps it: releasing it here (partition healed?)", g.key, keeper)
	g.yielding = true
	n.stopGroup(g)
	return true
}

func classify(gs []*group, node string) string {
	local, foreign := false, false
	for _, g := range gs {
		if g.pref == node {
			local = true
		} else {
			foreign = true
		}
	}
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

func (n *Node) beginHandoff(gs []*group) {
	r := &n.res
	which := r.pendingWhy
	if which == "" {
		which = classify(gs, n.name)
	}
	r.pendingWhy = ""
	t := &handoff{which: which, groups: make(map[string]bool), deadline: n.now.Add(n.deadtime)}
	for _, g := range gs {
		t.groups[g.key] = true
	}
	r.txn = t
	n.logf(LevelInfo, "%s wants to go standby [%s]", n.name, which)
	m := &wire.Message{}
	m.Set("t", "ask_resources")
	m.Set("rsc_hold", which)
	m.Set("info", "me")
	n.sendMessage(m)
}

func (n *Node) progressHandoff() {
	r := &n.res
	t := r.txn
	if t == nil {
		return
	}
	if !t.releasing {
		if n.livePeers() == 0 || !n.now.Before(t.deadline) {
			n.logf(LevelWarn, "standby [%s]: no node answered; cancelled", t.which)
			r.txn = nil
		}
		return
	}
	for _, g := range r.groups {
		if t.groups[g.key] && g.state == GroupStopping {
			return
		}
	}
	n.logf(LevelInfo, "%s HA resource release completed (standby).", t.which)
	n.logf(LevelInfo, "Local standby process completed [%s].", t.which)
	n.announce("standby") // isstable=0: the peer has not acquired yet
	r.txn = nil
	r.lastSig = n.rscSignature()
	m := &wire.Message{}
	m.Set("t", "ask_resources")
	m.Set("rsc_hold", t.which)
	m.Set("info", "done")
	n.sendMessage(m)
	r.awaitDone = t.which
}

func (n *Node) progressAcquisitions() {
	r := &n.res
	if len(r.acqs) == 0 || n.anyStarting() {
		return
	}
	for _, a := range r.acqs {
		n.logf(LevelInfo, "Standby resource acquisition done [%s].", a.which)
		failback := false
		for _, g := range r.groups {
			if a.groups[g.key] && g.pref == n.name && g.state == GroupRunning {
				failback = true
			}
		}
		if failback && n.cfg.AutoFailback != config.FailbackOff {
			n.logf(LevelInfo, "Initial resource acquisition complete (auto_failback)")
		}
		n.announce("")
		m := &wire.Message{}
		m.Set("t", "ask_resources")
		m.Set("rsc_hold", a.which)
		m.Set("info", "done")
		n.sendMessage(m)
	}
	r.acqs = nil
}

func (n *Node) progressTakeovers() {
	r := &n.res
	if len(r.takeovers) == 0 || n.anyStarting() || !n.allAnnounced() {
		return
	}
	names := make([]string, 0, len(r.takeovers))
	for name := range r.takeovers {
		names = append(names, name)
	}
	sort.Strings(names)
	took := false
	for _, name := range names {
		mine, waiting := false, false
		for _, g := range r.groups {
			if !r.takeovers[name][g.key] {
				continue
			}
			if g.holds() {
				mine = true
			} else if !g.failed && n.desired(g) == n.name {
				waiting = true // ours to take, not started yet
			}
		}
		if waiting {
			continue
		}
		if mine {
			n.logf(LevelInfo, "mach_down takeover complete for node %s.", name)
			took = true
		}
		delete(r.takeovers, name)
	}
	if took {
		n.announce("mach_down")
	}
}

// --- graceful stop ---

func (n *Node) beginStop() {
	r := &n.res
	r.dirty = true
	if r.stopping {
		return
	}
	if len(r.groups) == 0 {
		n.stop()
		n.out = append(n.out, Exit{})
		return
	}
	r.stopping = true
	r.txn = nil
	n.logf(LevelInfo, "Heartbeat shutdown in progress.")
}

func (n *Node) reconcileStop() {
	r := &n.res
	busy, stopping := false, false
	for _, g := range r.groups {
		stopping = stopping || g.state == GroupStopping
	}
	// One group at a time, the last of haresources first, as Heartbeat's
	// ResourceManager gives them up.
	for i := len(r.groups) - 1; i >= 0; i-- {
		g := r.groups[i]
		switch g.state {
		case GroupRunning:
			if !r.giveUpLog {
				r.giveUpLog = true
				n.logf(LevelInfo, "Giving up all HA resources.")
			}
			if !stopping {
				n.stopGroup(g)
				stopping = true
			}
			busy = true
		case GroupProbing, GroupStarting, GroupStopping:
			busy = true
		case GroupStopFailed:
			if !r.stuckLog {
				r.stuckLog = true
				n.logf(LevelCrit, "Shutdown waits: resource group %s failed to stop and may still run; run hbd cleanup %s (or stop it by hand, then cleanup)", g.key, g.key)
			}
			busy = true
		}
	}
	if busy {
		if r.joined && n.rscSignature() != r.lastSig {
			n.announce("") // peers learn of each release at once
		}
		return
	}
	n.logf(LevelInfo, "All HA resources relinquished.")
	if r.joined {
		n.announce("shutdown")
	}
	n.stop()
	n.logf(LevelInfo, "%s Heartbeat shutdown complete.", n.name)
	n.out = append(n.out, Exit{})
}

// --- announcements ---

// rscHold is Heartbeat's summary of what this node holds, relative to
// itself: local when it holds every group it prefers, foreign when it
// holds another node's group. A node that prefers no group says local,
// except while a Heartbeat peer says it holds foreign groups (ours: the
// empty set it took over when we left): Heartbeat would log "Both
// machines own foreign resources!". It gives them back with its failback
// (ask_resources rsc_hold=foreign info=me), after which we say local, as
// a Heartbeat node does. (Heartbeat itself says none until its initial
// acquisition; hbd says local from the join on, before it knows what the
// peer is, so a Heartbeat peer holding foreign may log that line once.)
func (n *Node) rscHold() string {
	local, foreign, prefers := true, false, false
	for _, g := range n.res.groups {
		if g.pref == n.name {
			prefers = true
			if !g.holds() {
				local = false
			}
		}
		if g.pref != n.name && g.holds() {
			foreign = true
		}
	}
	if !prefers {
		local = !n.heartbeatPeerHoldsForeign()
	}
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

// heartbeatPeerHoldsForeign: a live Heartbeat peer's rsc_hold includes
// foreign (groups it does not prefer).
func (n *Node) heartbeatPeerHoldsForeign() bool {
	for _, p := range n.peers {
		if n.live(p) && p.rsc.announced && !p.rsc.hbd && p.rsc.hold&holdForeignBit != 0 {
			return true
		}
	}
	return false
}

func (n *Node) stable() bool {
	if n.res.txn != nil || n.res.stopping {
		return false
	}
	for _, g := range n.res.groups {
		switch g.state {
		case GroupProbing, GroupStarting, GroupStopping:
			return false
		}
	}
	return true
}

func (n *Node) rscFields() (held, standby, failed, want string) {
	var h, s, f, w []string
	for _, g := range n.res.groups {
		// A group added by a reload is listed while it is probed: it may
		// run here already, and nobody may start it before we know.
		if g.holds() || g.probeNew && g.state == GroupProbing {
			h = append(h, g.key)
		}
		if g.standby {
			s = append(s, g.key)
		}
		if g.failed {
			f = append(f, g.key)
		}
		if !g.removed {
			w = append(w, g.key+">"+n.desired(g))
		}
	}
	return strings.Join(h, "|"), strings.Join(s, "|"), strings.Join(f, "|"), strings.Join(w, "|")
}

func (n *Node) stopFailedList() string {
	var s []string
	for _, g := range n.res.groups {
		if g.state == GroupStopFailed {
			s = append(s, g.key)
		}
	}
	return strings.Join(s, "|")
}

func (n *Node) rscSignature() string {
	h, s, f, w := n.rscFields()
	st := "0"
	if n.stable() {
		st = "1"
	}
	return n.rscHold() + ";" + st + ";" + h + ";" + s + ";" + f + ";" + w
}

// announce sends this node's resource message: Heartbeat's fields
// (rsc_hold, rtype, isstable, info) and hbd's (doc.go).
func (n *Node) announce(info string) {
	h, s, f, w := n.rscFields()
	m := &wire.Message{}
	m.Set("t", "resource")
	if info == "mach_down" {
		m.Set("rsc_hold", HoldForeign) // as Heartbeat's mach_down says it
	} else {
		m.Set("rsc_hold", n.rscHold())
	}
	if info != "mach_down" {
		m.Set("rtype", "full")
		st := "0"
		if n.stable() {
			st = "1"
		}
		m.Set("isstable", st)
	}
	if info != "" {
		m.Set("info", info)
	}
	m.Set("hbd_held", h)
	m.Set("hbd_standby", s)
	m.Set("hbd_failed", f)
	m.Set("hbd_want", w)
	if n.res.stopping {
		m.Set("hbd_stopping", "1")
	}
	if sf := n.stopFailedList(); sf != "" {
		m.Set("hbd_stopfailed", sf)
	}
	if ask := n.askList(); ask != "" {
		m.Set("hbd_ask", ask)
	}
	n.res.epoch++
	if sig := n.rscSignature(); sig != n.res.lastSig || n.res.stateEpoch == 0 {
		n.res.stateEpoch = n.res.epoch
	}
	m.Set("hbd_epoch", hex(n.res.epoch))
	var seen []string
	for _, p := range n.peers {
		if n.live(p) && p.rsc.epoch != 0 {
			seen = append(seen, p.name+":"+hex(p.rsc.epoch))
		}
	}
	if len(seen) > 0 {
		m.Set("hbd_seen", strings.Join(seen, "|"))
	}
	if n.res.needSync {
		m.Set("hbd_sync", "1")
		n.res.syncEpoch, n.res.syncAt = n.res.epoch, n.now
	}
	n.sendMessage(m)
	n.res.lastSig = n.rscSignature()
	for _, p := range n.peers {
		if n.live(p) {
			p.rsc.sentTo = true
		}
	}
}

func (n *Node) resourceDeadline() time.Time {
	var d time.Time
	min := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if t := n.res.txn; t != nil && !t.releasing {
		min(t.deadline)
	}
	min(n.fenceDeadline())
	for _, g := range n.res.groups {
		if g.failed {
			min(g.failedUntil)
		}
		if g.failbackAt.After(n.now) {
			min(g.failbackAt)
		}
	}
	return d
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
