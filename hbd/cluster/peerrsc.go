package cluster

import (
	"bytes"
	"maps"
	"slices"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// peerRsc is what a peer announced in its latest resource message.
type peerRsc struct {
	announced bool      // a resource message of its current run arrived
	since     time.Time // when that first announcement arrived (failback_delay)
	seq       uint64    // seq of the message applied (older ones are ignored)
	hbd       bool      // it sends hbd_ fields (an hbd node)
	// The groups it holds, starts, stands by for, failed, failed to stop,
	// wants where: only those configured here (groupSet).
	held      map[string]bool
	heldOther bool            // it also listed groups held that are not configured here
	starting  map[string]bool // of held, those whose start is under way (hbd peers)
	standby   map[string]bool
	failed    map[string]bool
	stuck     map[string]bool // stop-failed there
	want      map[string]string
	stopping  bool // announced a graceful shutdown
	// copies: it may still hold copies of groups held here (it died to
	// us, restarted, or a Heartbeat peer announced its shutdown): once it
	// says it holds them no more, this node announces them again.
	copies  bool
	sentTo  bool      // we announced our groups since it was (re)heard
	askedAt time.Time // we last asked it to announce (hbd_ask)
	// askedKeys: resources.keysAdded when we last asked it (a reload
	// here since has added groups it is to be asked about).
	askedKeys int
	epoch     uint64 // its latest announcement's hbd_epoch
	seenMe    uint64 // the newest of our epochs it had seen then
	echoed    uint64 // the last of its epochs we echoed (hbd_sync)
	meSeq     uint64 // seq of its ask_resources info=me we serve
	doneSeq   uint64 // seq of its last ask_resources info=done
	// stableSeq: seq of its newest announcement that said isstable=1,
	// for an hbd peer only (every handoff it began before is over).
	stableSeq uint64
	// reloads: this node's count of reloads applied (resources.reloads)
	// when that announcement was applied: a reload since then may have
	// changed what the peer may hold (abandon.go).
	reloads int
	// quietMax is its hbd_quietmax: the longest status interval it
	// honours from this node while quiet (0: none; quiet.go).
	quietMax time.Duration
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

// gaveUp: the peer stopped gracefully and holds nothing by its latest
// word (its shutdone, or a stopping announcement that lists no group).
// One that announced its stop and fell silent still listing groups (a
// partition cut it off in the middle of its stop) may still run them,
// also groups not configured here: a reload may add them.
func (r *peerRsc) gaveUp() bool { return r.stopping && !r.holdsAny() }

// holdsAny: the peer's latest announcement listed a group it holds,
// configured here or not.
func (r *peerRsc) holdsAny() bool { return len(r.held) > 0 || r.heldOther }

// keySet is groupSet of field f of m.
func (n *Node) keySet(m *wire.Message, f string) map[string]bool {
	b, _ := m.Bytes(f)
	set, _ := n.groupSet(b)
	return set
}

// configuredKey is the key of the group configured here that k names
// ("" if none): stored instead of k, a key kept from a message shares no
// memory with it.
func (n *Node) configuredKey(k []byte) string {
	for _, g := range n.res.groups {
		if g.key == string(k) {
			return g.key
		}
	}
	return ""
}

// groupSet is the set of groups configured here that list (KEY|KEY|...)
// names; other says whether it named any other. A peer's configuration
// may differ from this node's (a reload under way on either node, or a
// peer that lies): a key no group has here says nothing this node acts
// on, and kept it would hold up to a datagram's worth of memory. What a
// peer holds of a group a reload adds here is learnt again then
// (rekeyPeers). nil when list names no configured group.
func (n *Node) groupSet(list []byte) (set map[string]bool, other bool) {
	for k := range bytes.SplitSeq(list, []byte("|")) {
		if len(k) == 0 {
			continue
		}
		key := n.configuredKey(k)
		if key == "" {
			other = true
			continue
		}
		if set == nil {
			set = make(map[string]bool)
		}
		set[key] = true
	}
	return set, other
}

// wantMap is hbd_want (KEY>NODE|...) for the groups configured here, as
// groupSet. A node not configured here is kept as "": it is not this
// node, which is all the want is read for (canStart).
func (n *Node) wantMap(list []byte) map[string]string {
	var want map[string]string
	for kv := range bytes.SplitSeq(list, []byte("|")) {
		i := bytes.LastIndexByte(kv, '>')
		if i <= 0 {
			continue
		}
		key := n.configuredKey(kv[:i])
		if key == "" {
			continue
		}
		node := ""
		if j := slices.Index(n.cfg.Nodes, string(kv[i+1:])); j >= 0 {
			node = n.cfg.Nodes[j]
		}
		if want == nil {
			want = make(map[string]string)
		}
		want[key] = node
	}
	return want
}

func (n *Node) onResource(p *peer, seq uint64, m *wire.Message) {
	// Recorded even while this node has no groups: a reload may give it
	// some (rekeyPeers learns then what the peers hold of them).
	r := &p.rsc
	_, hbd := m.Bytes(wire.FHbdHeld)
	if hbd && m.Value(wire.FIsStable) == "1" {
		// Also from an overtaken announcement: what it says of the
		// peer's handoffs then is still true.
		n.peerStable(p, seq)
	}
	if r.announced && seq < r.seq {
		return // overtaken by a newer announcement
	}
	if !r.announced {
		r.since = n.now
	}
	r.announced = true
	r.seq = seq
	r.reloads = n.res.reloads
	info := m.Value(wire.FInfo)
	if hbd {
		held, _ := m.Bytes(wire.FHbdHeld)
		r.hbd = true
		r.held, r.heldOther = n.groupSet(held)
		r.starting = n.keySet(m, wire.FHbdStarting)
		r.standby = n.keySet(m, wire.FHbdStandby)
		r.failed = n.keySet(m, wire.FHbdFailed)
		r.stuck = n.keySet(m, wire.FHbdStopFailed)
		want, _ := m.Bytes(wire.FHbdWant)
		r.want = n.wantMap(want)
		n.peerSettingsHeard(p, true, m.Value(wire.FHbdSettings), m.Value(wire.FHbdSetsPart) == "1")
		r.quietMax = 0
		if _, ok := m.Get(wire.FHbdQuietMax); ok {
			if d, err := m.MillisValue(wire.FHbdQuietMax); err == nil && d > 0 {
				r.quietMax = d
			}
		}
	} else {
		hold := m.Value(wire.FRscHold)
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
		r.held, r.starting, r.heldOther = held, nil, false
		n.peerSettingsHeard(p, false, "", false)
		switch bits := holdBits(hold); {
		case m.Value(wire.FRType) == "full" || bits == 0:
			r.hold = bits
		default:
			r.hold |= bits
		}
	}
	// (hbd_ask and hbd_seen are read in place: only this node's entry
	// matters, and the others are as many as one datagram holds.)
	ask, _ := m.Bytes(wire.FHbdAsk)
	for name := range bytes.SplitSeq(ask, []byte("|")) {
		if string(name) == n.name {
			r.sentTo = false // it missed our announcement: send it again
		}
	}
	if e, err := wire.ParseHex(m.Value(wire.FHbdEpoch)); err == nil {
		r.epoch = e
		r.seenMe = 0
		seen, _ := m.Bytes(wire.FHbdSeen)
		for kv := range bytes.SplitSeq(seen, []byte("|")) {
			if name, v, ok := bytes.Cut(kv, []byte(":")); ok && string(name) == n.name {
				r.seenMe, _ = wire.ParseHex(string(v))
			}
		}
		if m.Value(wire.FHbdSync) == "1" && e > r.echoed {
			r.echoed = e
			r.sentTo = false // it waits until we have seen its state
		}
	}
	n.releasedCopies(p)
	n.peerHolds(p)
	if (info == "shutdown" || m.Value(wire.FHbdStopping) == "1") && !r.stopping {
		r.stopping = true
		n.peerLeaving(p)
	}
	if info == "shutdown" && !r.hbd {
		// Heartbeat gives everything up now (hb_giveup_resources),
		// copies of our groups from a partition too; its shutdone says
		// they are down.
		r.copies = true
	}
}

// rekeyPeers: a reload changed the groups configured here (before: the
// groups before it). What the peers announced is kept for the groups
// configured now only (groupSet): of a group no longer configured, only
// that it is held there is kept (heldOther). What each holds of a group
// the reload added is learnt again:
//   - a Heartbeat peer holds those its hold class names, as onResource
//     reads it;
//   - an hbd peer is asked to announce again (toAsk: keysAdded). Until it
//     does, one whose announcement listed groups held that were not
//     configured here (heldOther) is taken to hold every new group: its
//     own configuration may have had them first. No group it may run
//     starts here meanwhile (canStart), and the rule leaves such a group
//     where it may run. One that listed none holds none of them.
func (n *Node) rekeyPeers(before []*group) {
	var added []*group
	for _, g := range n.res.groups {
		if !slices.Contains(before, g) {
			added = append(added, g)
		}
	}
	for _, p := range n.peers {
		n.dropUnconfigured(&p.rsc)
	}
	if len(added) == 0 {
		return
	}
	n.res.keysAdded = n.res.reloads
	for _, p := range n.peers {
		r := &p.rsc
		class := HoldAll
		switch {
		case !r.announced:
			continue
		case !r.hbd:
			class = holdClass(r.hold&holdLocalBit != 0, r.hold&holdForeignBit != 0)
		case !r.heldOther:
			continue
		}
		for _, g := range added {
			if !inClass(g, class, p.name) {
				continue
			}
			if r.held == nil {
				r.held = make(map[string]bool)
			}
			r.held[g.key] = true
		}
	}
}

// dropUnconfigured forgets what r says of groups not configured here (a
// reload removed them), but that it holds one.
func (n *Node) dropUnconfigured(r *peerRsc) {
	gone := func(key string, _ bool) bool { return n.groupByKey(key) == nil }
	held := len(r.held)
	if maps.DeleteFunc(r.held, gone); len(r.held) < held {
		r.heldOther = true
	}
	for _, m := range []map[string]bool{r.starting, r.standby, r.failed, r.stuck} {
		maps.DeleteFunc(m, gone)
	}
	maps.DeleteFunc(r.want, func(key, _ string) bool { return n.groupByKey(key) == nil })
}

// peerStable: an hbd peer said isstable=1 in its announcement seq. It
// says so only once every handoff it began before is over (its txn is
// done or cancelled: handoff.go sends isstable=0 from its info=me to its
// done): a request of it we serve and whose done is late ends here, and
// one that arrives later with a lower seq (a retransmission, a reordered
// packet) is not served (staleRequest). A Heartbeat peer's isstable is
// not about its standby: it says isstable=1 in the middle of one (when
// our announcement made it consider us stable again), and waits for our
// done; only its own done ends the handoff.
func (n *Node) peerStable(p *peer, seq uint64) {
	r := &p.rsc
	if seq > r.stableSeq {
		r.stableSeq = seq
	}
	if _, ok := n.res.standbyFrom[p.name]; ok && seq > r.meSeq {
		delete(n.res.standbyFrom, p.name)
	}
}

// staleRequest: a peer's ask_resources info=me of seq is older than one
// of its later messages that ends it: its done, a newer request, or (an
// hbd peer) an announcement saying isstable=1. Served, it would wait for
// a done that was sent before it arrived, or never comes, and keep the
// peer's groups from starting here.
func staleRequest(r *peerRsc, seq uint64) bool {
	return seq < r.doneSeq || seq < r.meSeq || seq < r.stableSeq
}

// releasedCopies: a peer that may have held copies of groups running here
// (peerRsc.copies) says which it holds now (an announcement, its
// shutdone). Every running group it does not hold is announced again
// here: clients may still point at the peer (it answered ARP for the
// address until its release before joining, or until its shutdown). A
// group it still holds is a conflict, which resolveConflict announces
// again once the peer has released it.
func (n *Node) releasedCopies(p *peer) {
	if !p.rsc.copies {
		return
	}
	p.rsc.copies = false
	for _, g := range n.res.groups {
		if g.state != GroupRunning || g.conflict || p.rsc.held[g.key] {
			continue
		}
		n.logf(LevelInfo, "%s holds no copy of resource group %s (any more): announcing it again", p.name, g.key)
		n.out = append(n.out, Reannounce{Group: g.key, Spec: g.spec})
	}
}

// peerShutdown: a shutdone arrived (the graceful stop is complete): it
// holds nothing any more.
func (n *Node) peerShutdown(p *peer) {
	n.recheck()
	p.rsc.held, p.rsc.heldOther = nil, false
	n.releasedCopies(p)
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
			set[g.key] = false // not started here since (tookOver)
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

// peerDied: membership declared the peer dead (silent for deadtime, or
// after its shutdone); it holds nothing any more.
func (n *Node) peerDied(p *peer) {
	n.recheck()
	if len(n.res.groups) == 0 {
		return
	}
	gaveUp := p.rsc.gaveUp()
	n.fenceDeath(p, gaveUp)
	switch {
	case gaveUp:
		n.logf(LevelInfo, "Dead node %s gave up resources.", p.name)
	case !p.rsc.stopping:
		n.peerLeaving(p)
	}
	// A node that gave everything up stays stopping until it restarts (a
	// new generation): Heartbeat sends status and resource messages for
	// about 2 s after its shutdone, which must not make it eligible again
	// (a failback to a node on its way out). Any other node may still
	// hold copies of groups this node takes over now (a partition, a
	// daemon killed with its addresses in place, a stop cut off before
	// it released everything): it is dead as after a crash.
	p.rsc = peerRsc{askedAt: n.now, stopping: gaveUp, copies: !gaveUp}
	p.partitionAt = time.Time{}
	delete(n.res.standbyFrom, p.name)
}

// peerJoined: membership hears the peer, for the first time or again
// after it was declared dead: the rule may place groups there once it has
// announced them.
func (n *Node) peerJoined(*peer) {
	n.recheck()
}

// peerAdded: a reload added the peer; it is asked for its groups from
// now on.
func (n *Node) peerAdded(p *peer) {
	p.rsc.askedAt = n.now
}

// peerRemoved: a reload removed the peer: forget its handshakes and
// takeovers.
func (n *Node) peerRemoved(p *peer) {
	delete(n.res.standbyFrom, p.name)
	delete(n.res.takeovers, p.name)
}

// peerRestarted: a new generation of the peer was heard (it restarted
// before we declared it dead): forget what its previous run announced and
// any handshake with it. Unless its previous run gave everything up
// (gaveUp: a stop whose end we did not hear may have been cut short by a
// kill), it may hold copies of groups running here until its release
// before joining (its daemon was killed, the addresses stayed).
func (n *Node) peerRestarted(p *peer) {
	n.touch()
	p.rsc = peerRsc{askedAt: n.now, copies: !p.rsc.gaveUp()}
	p.sets = peerSettings{} // its new run may have started from another state file
	p.partitionAt = time.Time{}
	delete(n.res.standbyFrom, p.name)
}

func (n *Node) onAskResources(p *peer, seq uint64, m *wire.Message) {
	if len(n.res.groups) == 0 {
		return
	}
	which, ok := normWhich(m.Value(wire.FRscHold))
	if !ok {
		return
	}
	switch m.Value(wire.FInfo) {
	case "me":
		if staleRequest(&p.rsc, seq) {
			n.logf(LevelInfo, "Ignored standby request [%s] from %s: its later messages say that handoff is over", which, p.name)
			return
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
		n.res.standbyFrom[p.name] = standbyReq{which: which, until: n.now.Add(n.standbyLapse(p))}
		r := n.newMessage()
		r.Set(wire.FType, wire.TAskResources)
		r.Set(wire.FRscHold, which)
		r.Set(wire.FInfo, "other")
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
				n.handOverGroup(g)
			}
		}
	case "done":
		if seq > p.rsc.doneSeq {
			p.rsc.doneSeq = seq
		}
		if req, ok := n.res.standbyFrom[p.name]; ok && seq > p.rsc.meSeq {
			w := req.which
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
	which, ok := normWhich(m.Value(wire.FRscHold))
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
