package cluster

import (
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

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
	return holdClass(local, foreign)
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

// The lists of this node's resource announcement (hbd_held, hbd_standby,
// hbd_failed, hbd_want, hbd_starting), in this order in the signature
// (of hbd_starting, only what appendStaleStarting says).
const (
	listHeld = iota
	listStandby
	listFailed
	listWant
	listStarting
	numLists
)

// rscFields builds the lists of an announcement, indexed by listHeld...;
// want names each group's holder in hbd_want.
func (n *Node) rscFields(want func(*group) string) [numLists]string {
	var out [numLists]string
	for i := range out {
		out[i] = string(n.appendRscList(nil, i, want))
	}
	return out
}

// wantOf is the holder hbd_want names for g: the one the rule desires.
func (f *facts) wantOf(g *group) string { return f.desired(f.of(g)) }

// appendRscList appends list which (listHeld...) to b, its keys in
// haresources order, `|`-separated; want names each group's holder in
// hbd_want.
func (n *Node) appendRscList(b []byte, which int, want func(*group) string) []byte {
	first := true
	for _, g := range n.res.groups {
		var in bool
		switch which {
		case listHeld:
			// A group added by a reload is listed while it is probed: it
			// may run here already, and nobody may start it before we
			// know.
			in = g.holds() || g.probeNew && g.state == GroupProbing
		case listStandby:
			in = g.standby
		case listFailed:
			in = g.failed
		case listWant:
			in = !g.removed
		case listStarting:
			// Held, but no copy to keep: the start may still be called
			// off (abandon.go) and leave none, a group new in the
			// configuration is only probed (found stopped, it is not
			// held), and one a probe found running is being released.
			// A peer holding the group keeps its own copy until this
			// one runs (resolveConflict).
			in = g.state == GroupStarting || g.probeNew && g.state == GroupProbing || g.bootRelease && g.state == GroupStopping
		}
		if !in {
			continue
		}
		if !first {
			b = append(b, '|')
		}
		first = false
		b = append(b, g.key...)
		if which == listWant {
			b = append(b, '>')
			b = append(b, want(g)...)
		}
	}
	return b
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

// rscSignature is what this node's announcement says, in one string:
// a change of it is a change to announce.
func (n *Node) rscSignature() string { return string(n.appendRscSignature(nil)) }

// rscChanged: the signature differs from the one last announced. It is
// asked at every reconcile, so it builds the signature in the node's scratch
// and allocates nothing.
func (n *Node) rscChanged() bool {
	if n.res.unsent.tries > 0 {
		return true // what the peers last heard is older than the signature kept
	}
	n.sigBuf = n.appendRscSignature(n.sigBuf[:0])
	return string(n.sigBuf) != n.res.lastSig
}

func (n *Node) appendRscSignature(b []byte) []byte {
	b = append(b, n.rscHold()...)
	b = append(b, ';')
	if n.stable() {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	rule := n.placementFacts()
	for i := range numLists {
		b = append(b, ';')
		if i == listStarting {
			b = n.appendStaleStarting(b)
			continue
		}
		b = n.appendRscList(b, i, rule.wantOf)
	}
	if sets, _ := n.settingsField(); sets != "" {
		b = append(b, ';')
		b = append(b, sets...)
	}
	b = append(b, ';')
	b = strconv.AppendInt(b, int64(n.quietHonoured()), 10)
	return b
}

// appendStaleStarting appends to b the groups our latest announcement
// listed as starting that no longer start here and that a live peer holds
// too: that peer keeps its copy while it reads ours as starting
// (resolveConflict), so the end of the start must be announced. The end
// of a start nobody else holds changes nothing a peer decides: it is told
// with the next announcement (at the latest when this node is stable
// again), not in one of its own.
func (n *Node) appendStaleStarting(b []byte) []byte {
	for _, g := range n.res.groups {
		if !g.saidStarting || g.state == GroupStarting || !n.heldByPeer(g) {
			continue
		}
		b = append(b, g.key...)
		b = append(b, '|')
	}
	return b
}

// heldByPeer: a live peer's latest announcement lists g as held.
func (n *Node) heldByPeer(g *group) bool {
	for _, p := range n.peers {
		if n.live(p) && p.rsc.held[g.key] {
			return true
		}
	}
	return false
}

// annFields are the values of a resource announcement: announce takes
// them from the node, worstAnnouncements at their longest.
type annFields struct {
	info       string // "", standby, shutdown or mach_down
	hold       string // rsc_hold (mach_down says foreign)
	stable     bool
	lists      [numLists]string
	stopping   bool
	stopFailed string
	ask        string
	settings   string
	setsPart   bool // settings leaves some out (hbd_setspart)
	epoch      uint64
	seen       string
	sync       bool
	quietMax   time.Duration // hbd_quietmax (0: left out)
}

// fill sets m's fields: Heartbeat's (rsc_hold, rtype, isstable, info),
// then hbd's (doc.go), in the order peers read them.
func (a *annFields) fill(m *wire.Message) {
	m.Set(wire.FType, wire.TResource)
	if a.info == "mach_down" {
		m.Set(wire.FRscHold, HoldForeign) // as Heartbeat's mach_down says it
	} else {
		m.Set(wire.FRscHold, a.hold)
		m.Set(wire.FRType, "full")
		st := "0"
		if a.stable {
			st = "1"
		}
		m.Set(wire.FIsStable, st)
	}
	if a.info != "" {
		m.Set(wire.FInfo, a.info)
	}
	m.Set(wire.FHbdHeld, a.lists[listHeld])
	if st := a.lists[listStarting]; st != "" {
		m.Set(wire.FHbdStarting, st)
	}
	m.Set(wire.FHbdStandby, a.lists[listStandby])
	m.Set(wire.FHbdFailed, a.lists[listFailed])
	m.Set(wire.FHbdWant, a.lists[listWant])
	if a.stopping {
		m.Set(wire.FHbdStopping, "1")
	}
	if a.stopFailed != "" {
		m.Set(wire.FHbdStopFailed, a.stopFailed)
	}
	if a.ask != "" {
		m.Set(wire.FHbdAsk, a.ask)
	}
	if a.settings != "" {
		m.Set(wire.FHbdSettings, a.settings)
	}
	if a.setsPart {
		m.Set(wire.FHbdSetsPart, "1")
	}
	m.Set(wire.FHbdEpoch, wire.Hex(a.epoch))
	if a.seen != "" {
		m.Set(wire.FHbdSeen, a.seen)
	}
	if a.sync {
		m.Set(wire.FHbdSync, "1")
	}
	if a.quietMax > 0 {
		m.SetMillis(wire.FHbdQuietMax, a.quietMax)
	}
}

// seenList is hbd_seen: the newest epoch of each live peer's
// announcements.
func (n *Node) seenList() string {
	var seen []string
	for _, p := range n.peers {
		if n.live(p) && p.rsc.epoch != 0 {
			seen = append(seen, p.name+":"+wire.Hex(p.rsc.epoch))
		}
	}
	return strings.Join(seen, "|")
}

// announce sends this node's resource message: Heartbeat's fields
// (rsc_hold, rtype, isstable, info) and hbd's (doc.go). One that would
// not fit a datagram is not sent (sendFitting): nothing of it counts as
// said (announceUnsent).
func (n *Node) announce(info string) {
	rule := n.placementFacts()
	sets, setsPart := n.settingsField()
	a := annFields{info: info, hold: n.rscHold(), stable: n.stable(), lists: n.rscFields(rule.wantOf),
		stopping: n.res.stopping, stopFailed: n.stopFailedList(), ask: n.askList(), settings: sets, setsPart: setsPart,
		epoch: n.res.epoch + 1, seen: n.seenList(), sync: n.res.needSync, quietMax: n.quietHonoured()}
	m := n.newMessage()
	a.fill(m)
	size, ok := n.sendFitting(m)
	if !ok && a.quietMax > 0 {
		// hbd_quietmax is left out first (and out of the load-time worst
		// case, worstAnnouncements): without it the peer only keeps
		// sending its status every keepalive.
		a.quietMax = 0
		m.Reset()
		a.fill(m)
		size, ok = n.sendFitting(m)
	}
	if !ok {
		n.announceUnsent(size, len(a.settings))
		return
	}
	// Sent: what it says is what the peers will have heard.
	for _, g := range n.res.groups {
		if !g.removed {
			g.wantSaid = rule.wantOf(g)
		}
	}
	for _, p := range n.peers {
		if n.askNow(p) {
			p.rsc.askedAt, p.rsc.askedKeys = n.now, n.res.keysAdded
		}
	}
	n.res.reloaded = false
	n.res.epoch++
	if n.rscChanged() || n.res.stateEpoch == 0 {
		n.res.stateEpoch = n.res.epoch
	}
	if n.res.needSync {
		n.res.syncEpoch, n.res.syncAt = n.res.epoch, n.now
	}
	n.announceSent(size)
	for _, g := range n.res.groups {
		g.saidStarting = g.state == GroupStarting
	}
	n.res.lastSig = n.rscSignature()
	for _, p := range n.peers {
		if n.live(p) {
			p.rsc.sentTo = true
		}
	}
}
