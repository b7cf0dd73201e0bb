package cluster

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// reconcileAfter runs reconcile after an event that changed something it
// reads and asked for it at once (recheck), and on a Tick when something
// it reads changed since it last ran (touch, and every event but a Tick
// or a Receive), when it acted then (what it did may let it do more: a
// group released lets another of its exclusive set start), or when time
// reached a deadline it depends on (reconcileDeadline). A tick with none
// of these would find what the last run found and do nothing: it is
// skipped, which is most ticks of a node at rest.
func (n *Node) reconcileAfter(tick bool) {
	r := &n.res
	if !r.dirty && !(tick && (r.stale || !r.due.IsZero() && !n.now.Before(r.due))) {
		if tick && n.checkSkips {
			n.checkSkip()
		}
		return
	}
	r.dirty, r.stale = false, false
	acts := len(n.out)
	n.reconcile()
	if len(n.out) > acts {
		r.stale = true
	}
	r.due = n.reconcileDeadline()
}

// checkSkip runs the reconcile a tick skips (Options.CheckSkips) and
// panics if it did anything.
func (n *Node) checkSkip() {
	acts := len(n.out)
	n.reconcile()
	if len(n.out) == acts {
		return
	}
	what := fmt.Sprintf("%T", n.out[acts])
	switch a := n.out[acts].(type) {
	case *Send:
		what = "send " + a.Msg.Type()
	case Log:
		what = "log: " + a.Msg
	}
	panic(fmt.Sprintf("cluster: %s skipped a reconcile at a tick that had something to do (%s): something it reads changed without touch or recheck", n.name, what))
}

// reconcileDeadline is the earliest time after now at which the passing of
// time alone can change what reconcile does (zero: none): every instant it
// compares the clock with. It may be early (a reconcile then does
// nothing), never late.
func (n *Node) reconcileDeadline() time.Time {
	var d time.Time
	later := func(t time.Time) {
		if t.After(n.now) && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	r := &n.res
	// Handshake deadlines, failure expiry, planned failbacks, the waits
	// for cut-off peers and for a Heartbeat peer back from a partition.
	later(n.resourceDeadline())
	later(r.fenceUntil)
	later(r.regainUntil)
	later(n.sb.holdUntil)
	// The longer deadtime of a reload's transition (effectiveDeadtime),
	// the shorter one the quorum counts with (holdLongerDeadtime).
	later(n.dtFloorUntil)
	later(n.dtCeilUntil)
	n.heldSilences(later)
	// Asking again (mustAsk, mustSync).
	later(r.syncAt.Add(2 * n.keepalive))
	// Persisting the settings, then announcing them (settingsChanged).
	if n.setsDirty {
		later(n.setsSaveAt)
	}
	// Saying again that an announcement does not fit (announceUnsent).
	if r.unsent.tries > 0 {
		later(r.unsent.loggedAt.Add(LogEvery))
	}
	for _, p := range n.peers {
		later(p.rsc.askedAt.Add(2 * n.keepalive))
		if p.rsc.announced {
			later(p.rsc.since.Add(n.cfg.FailbackDelay))
		}
		if !p.partitionAt.IsZero() {
			later(p.partitionAt.Add(n.heartbeatGiveUpWait()))
		}
	}
	return d
}

// reconcile compares what is with what the placement rule wants, and
// acts: starts, stops, hands over, announces.
func (n *Node) reconcile() {
	r := &n.res
	if n.setsDirty && !n.now.Before(n.setsSaveAt) {
		n.persistSettings()
	}
	// First, on every path: its lapse is among the deadlines NextTick
	// keeps (resourceDeadline), which must not stay in the past.
	n.expireStandbyRequests()
	if r.stopping {
		// Also with no group left: a reload may have removed and
		// forgotten the last ones while the stop was releasing them, and
		// the stop must still complete (shutdone, Exit).
		n.expireFailures()
		n.reconcileStop()
		return
	}
	if len(r.groups) == 0 {
		// A standby handoff under way when a reload removed the last
		// groups still ends: its release completes, or its deadline
		// passes (NextTick would otherwise stay at that deadline).
		n.progressHandoff()
		return
	}
	n.expireFailures()
	n.reconcileRetired()
	if !r.joined || n.state != StateActive {
		return
	}
	n.checkQuorum()
	// A takeover whose last start has just ended is complete before this
	// run decides anything else (a release of what it took, a failback):
	// Heartbeat's mach_down says so once its takegroup is done, whatever
	// comes after. The run's end checks again, for what it changed.
	n.progressTakeovers(false)
	var handOver []*group
	n.keepView()
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
			d := n.desired(g)
			if why := n.mustNotHold(g); why != "" && d == "" {
				// No node may take it over: stop it here at once.
				n.logf(LevelInfo, "Releasing resource group %s: %s", g.key, why)
				n.stopGroup(g)
				continue
			}
			if d != n.name && d != "" {
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
				g.prepared = ""
				continue
			}
			if !n.canStart(g) || n.fenced() {
				n.prepareStart(g)
				continue
			}
			if g.failed {
				continue
			}
			if n.exclHeldHere(g) != nil {
				continue // released first (exclusive)
			}
			// (in the peers' order: map order would make the log, and
			// so a replay, differ from run to run)
			var from []string
			for _, peer := range slices.Sorted(maps.Keys(r.takeovers)) {
				if _, ok := r.takeovers[peer][g.key]; ok {
					n.logf(LevelInfo, "Taking over resource group %s (from %s)", g.key, peer)
					from = append(from, peer)
				}
			}
			n.startGroup(g, from)
		}
	}
	n.forgetView()
	if len(handOver) > 0 && n.livePeers() > 0 {
		n.beginHandoff(handOver)
	}
	n.progressHandoff()
	n.progressAcquisitions()
	n.progressTakeovers(true)
	if !r.initialDone && n.initialAcquired() {
		r.initialDone = true
		n.logf(LevelInfo, "Local Resource acquisition completed.")
	}
	if r.txn != nil && r.txn.releasing {
		return // the release ends with its own announcement
	}
	if n.rscChanged() || !n.announcedToAll() || n.mustAsk() || n.mustSync() {
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
	rule := n.placementFacts()
	for _, g := range n.res.groups {
		if g.removed || g.next != nil {
			continue
		}
		if rule.desired(rule.of(g)) == n.name && g.state != GroupRunning && g.state != GroupFailed && g.state != GroupStopFailed {
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
// was lost while it was dead to us, or sent before its restart was seen),
// or a message it sent after its announcement is overdue: ask it again,
// at most every two keepalives.
func (n *Node) mustAsk() bool {
	for _, p := range n.peers {
		if n.toAsk(p) && n.now.Sub(p.rsc.askedAt) >= 2*n.keepalive {
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

// askList is hbd_ask: the peers to ask to announce their groups again.
func (n *Node) askList() string {
	var names []string
	for _, p := range n.peers {
		if n.askNow(p) {
			names = append(names, p.name)
		}
	}
	return strings.Join(names, "|")
}

// toAsk: p is live and joined, and has not announced its groups, or a
// message it sent after its latest announcement is overdue
// (overdueAnnouncement), or (an hbd peer) its latest announcement came
// before a reload here added groups (rekeyPeers).
func (n *Node) toAsk(p *peer) bool {
	if !n.live(p) || p.state != StateActive {
		return false
	}
	r := &p.rsc
	return !r.announced || n.overdueAnnouncement(p) || r.hbd && r.reloads < n.res.keysAdded
}

// askNow: p is to be named in hbd_ask now (toAsk). One asked only
// because a reload here added groups is named once after the reload,
// then at most every two keepalives: it answers every announcement that
// names it, and a reload sends a few at once (its probes, its releases).
func (n *Node) askNow(p *peer) bool {
	if !n.toAsk(p) {
		return false
	}
	r := &p.rsc
	return !r.announced || n.overdueAnnouncement(p) || r.askedKeys < n.res.keysAdded || n.now.Sub(r.askedAt) >= 2*n.keepalive
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
// preferred node on; the other releases at once. A peer whose copy is
// still starting (hbd_starting) is no keeper yet: its start may be called
// off (abandon.go) and leave no copy, so this node keeps its running one
// until the peer's runs (then the rule above applies) or is gone. Both
// copies exist already, so waiting makes no new duplicate; it lasts at
// most the rest of the peer's start longer.
func (n *Node) resolveConflict(g *group) bool {
	if n.holderCount(g) < 2 {
		if g.conflict {
			g.conflict = false
			n.logf(LevelInfo, "Resource group %s is held here only again: announcing it again", g.key)
			n.out = append(n.out, Reannounce{Group: g.key, Spec: g.spec})
		}
		return false
	}
	// A holder whose stop failed cannot release and may not even run the
	// group: the keeper is the first holder that runs it normally. An hbd
	// holder stopping gracefully releases it at once (reconcileStop):
	// kept there, the group would end up on neither node. A holder whose
	// copy is still starting keeps it only once it runs (waiting names
	// it meanwhile).
	keeper, waiting := "", ""
	for _, h := range n.holders(g) {
		if h == n.name {
			keeper = h
			break
		}
		p := n.peerByName(h)
		if p.rsc.stuck[g.key] || p.rsc.hbd && p.rsc.stopping {
			continue
		}
		if !p.rsc.starting[g.key] {
			keeper = h
			break
		}
		if waiting == "" {
			waiting = h
		}
	}
	if keeper != n.name && n.heartbeatGivesUp(n.peerByName(keeper)) {
		if !g.conflict {
			g.conflict = true
			n.logf(LevelWarn, "Resource group %s is also held by %s, a Heartbeat node back from a partition: keeping it here, announcing it again and asking %s to stand by for it (hb_takeover)", g.key, keeper, keeper)
			n.out = append(n.out, Reannounce{Group: g.key, Spec: g.spec})
			// Its rc.d/hb_takeover runs hb_standby for the class relative
			// to it, which gives its copy up with the standby handshake.
			which := HoldForeign
			if g.pref == n.name {
				which = HoldLocal
			}
			m := n.newMessage()
			m.Set(wire.FType, wire.THBTakeover)
			m.Set(wire.FRscHold, which)
			n.sendMessage(m)
		}
		return true
	}
	if keeper == n.name {
		if !g.conflict {
			g.conflict = true
			if waiting != "" {
				n.logf(LevelWarn, "Resource group %s is also being started by %s, which keeps it once it runs: keeping it here until then (the start may still be called off) and announcing it again", g.key, waiting)
			} else {
				n.logf(LevelWarn, "Resource group %s is also held by %s: keeping it here (partition healed?) and announcing it again", g.key, strings.Join(n.otherHolders(g), " "))
			}
			n.out = append(n.out, Reannounce{Group: g.key, Spec: g.spec})
		}
		return true
	}
	n.logf(LevelWarn, "Resource group %s is also held by %s, which keeps it: releasing it here (partition healed?)", g.key, keeper)
	g.yielding = true
	n.stopGroup(g)
	return true
}

// heartbeatGiveUpWait bounds how long this node keeps a copy of a group
// that a Heartbeat peer back from a partition also holds, waiting for it
// to give everything up (heartbeatGivesUp): 10 s, or two deadtimes if
// longer. Heartbeat 3.0.6 announced its shutdown 2 to 3 s after the heal
// in hbd/e2e's TestMixedHeal (deadtime 1 s); the wait only runs out when
// the peer never saw this node die (a one-way cut), so it does not restart,
// and then the usual rule applies.
func (n *Node) heartbeatGiveUpWait() time.Duration {
	return max(10*time.Second, 2*n.effectiveDeadtime())
}

// heartbeatGivesUp: p is a Heartbeat peer (no hbd_ fields) that is about
// to give up every group it holds: it announced its shutdown, or it
// came back from a partition less than heartbeatGiveUpWait ago. Heartbeat
// 3.0.6 answers a partition's end ("Cluster node ... returning after
// partition") by giving up all its resources and restarting (its log:
// "Heartbeat shutdown in progress", "Heartbeat restart triggered"). A
// copy held here is then the only one: releasing it would leave the group
// down until the peer restarts and fails back, and its address with the
// clients' ARP caches pointing at this node.
func (n *Node) heartbeatGivesUp(p *peer) bool {
	if p == nil || !p.rsc.announced || p.rsc.hbd || !n.live(p) {
		return false
	}
	if p.rsc.stopping {
		return true
	}
	return !p.partitionAt.IsZero() && n.now.Before(p.partitionAt.Add(n.heartbeatGiveUpWait()))
}

func (n *Node) resourceDeadline() time.Time {
	var d time.Time
	earliest := func(t time.Time) {
		if !t.IsZero() && (d.IsZero() || t.Before(d)) {
			d = t
		}
	}
	if t := n.res.txn; t != nil && !t.releasing {
		earliest(t.deadline)
	}
	earliest(n.fenceDeadline())
	for _, p := range n.peers {
		if !p.partitionAt.IsZero() && p.rsc.announced && !p.rsc.hbd {
			if end := p.partitionAt.Add(n.heartbeatGiveUpWait()); end.After(n.now) {
				earliest(end)
			}
		}
	}
	for _, req := range n.res.standbyFrom {
		earliest(req.until)
	}
	for _, g := range n.res.groups {
		if g.failed {
			earliest(g.failedUntil)
		}
		if g.failbackAt.After(n.now) {
			earliest(g.failbackAt)
		}
	}
	return d
}

// canStart: no live peer holds g or has not told us what it holds, no
// peer declared dead is coming back (returning), and every live hbd
// peer's rule gives g to this node too.
func (n *Node) canStart(g *group) bool {
	if !n.sbMayStart(g) {
		return false
	}
	// Our latest announcement was too long to send: the live peers do
	// not know what we hold and want now, and their consent answered
	// what they last heard.
	if n.res.unsent.tries > 0 && n.livePeers() > 0 {
		return false
	}
	back := false
	for _, p := range n.peers {
		if returning(p) {
			back = true
			continue
		}
		if !n.live(p) {
			continue
		}
		r := &p.rsc
		if !r.announced || r.held[g.key] {
			return false
		}
		// A message it sent after its latest announcement we have is
		// missing (asked for again): it may be a newer announcement
		// (it took the group back), which its resent older messages (a
		// standby's done) must not outrun. Wait until it arrives, the
		// peer says it is lost, or (an hbd peer, asked once the seq is
		// overdue: overdueAnnouncement) a newer announcement comes.
		if missingAfter(p, r.seq) {
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
		// A reload gave g to us since our latest announcement (it
		// changed g's preferred node, say): the peer's consent answered
		// the want of our old configuration, and its own reload may be
		// turning its want the other way at this very moment, on the
		// strength of our old one (both would start). Announce the new
		// want first and wait for the peer's answer to it.
		if r.hbd && n.res.reloaded && g.wantSaid != n.name {
			n.res.needSync = true
			return false
		}
		// A standby handoff from it is under way: acquire after its
		// ask_resources info=done, as Heartbeat does (or once the request
		// lapsed: expireStandbyRequests).
		if req, ok := n.res.standbyFrom[p.name]; ok && inClass(g, req.which, p.name) {
			return false
		}
	}
	return !back
}

// missingAfter: a seq of p newer than seq is missing.
func missingAfter(p *peer, seq uint64) bool {
	return len(p.missing) > 0 && p.missing[len(p.missing)-1].seq > seq
}
