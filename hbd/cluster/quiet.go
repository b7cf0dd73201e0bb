package cluster

import (
	"fmt"
	"math/bits"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Quiet passive. A node that holds nothing sends its status every S
// instead of every keepalive (ha.cf quiet_passive, on by default): it wakes
// about once a deadtime instead of every keepalive, and its peer, the
// holder, decodes and verifies a tenth of the statuses it did (measured:
// docs/benchmarks-history.md, "The passive's status every ten
// keepalives").
//
// Both sides' configuration. Only in a cluster of exactly two nodes,
// quorum off (config.QuorumMode.Enabled false), no fencing and not
// profile safe, with quiet_passive on (quietBlocked): a node whose own
// configuration fails any of these neither goes quiet, nor announces
// hbd_quietmax (the longest interval it honours: QuietFactor of its own
// keepalives), nor honours a peer's hbd_quiet; so either node turns it
// off for both, whatever the other's configuration says. Heartbeat and
// older hbd nodes never announce hbd_quietmax.
//
// Who goes quiet. A node whose deadtime is at most QuietMaxRatio
// keepalives (a quiet node reads its peer's statuses about once a
// deadtime, and hbd/link takes more than 32 at one wake-up for a flood),
// whose peer is an hbd node whose latest announcement of its current run
// says hbd_quietmax, and while: this node is active, holds, starts, stops
// and probes no group and no group is desired here; its peer holds or
// starts one of the groups (by its announcements: two quiet nodes are
// never possible, and the quiet one always has a holder to hear every
// keepalive); no standby, handoff, acquisition or takeover is under way;
// no seq is missing either way (a peer's NS_rexmit wakes it); initdead
// is over; no reload transition (effectiveDeadtime is deadtime); no
// fence, quorum or safe-start wait; the peer is alive, active and heard
// on every link it was heard on; and for a deadtime nothing but routine
// messages went out and nothing reconcile reads changed (touch, recheck:
// a peer's state, generation, links, announcement or seqs; every event
// but a Tick, a Receive, a RoutineFlood or a PingStatus that changes
// nothing).
//
// Not the start bonus (the longer dt a node announces for its first
// StartBonusFor, as Heartbeat does): hbd never obeys the dt a peer
// announces (peerDeadline), and a quiet node's peer scales its own
// deadtime, so the bonus changes no deadline of either node; it only
// makes the quiet node announce hbd_quiet longer while its peer is in
// its own bonus (quietAnnounceFor), which is safe. The status that ends
// the bonus differs from the last one in dt only, and is no news that
// wakes a quiet node (statusRoutine). So at 10 ms / 40 ms a passive
// restarted beside a holder goes quiet a few deadtimes after its
// initdead, not after 5 s.
//
// How. It then puts hbd_quiet=S (ms) in its statuses at the normal rate
// for the longest deadtime either node may apply (its own, the dt its
// peer announces, the peer's hbd_dt: quietAnnounceFor; a status that
// differs from the last only in hbd_quiet, or in dt at the end of the
// start bonus, is no news that resets the calm), and then sends its
// status every S. S = k × keepalive, k =
// QuietFactor (10) lowered so that k × deadtime ≤ max(deadtime,
// QuietNoticeMax (30 s, Heartbeat's default deadtime)), and no more than
// the peer's hbd_quietmax; k < 2 means never (keepalive 2 s / deadtime
// 30 s stays as it is): 10 s at 1 s / 3 s, 100 ms at 10 ms / 40 ms, 3 s
// at 1 s / 10 s.
//
// The peer. A status carrying hbd_quiet=S with keepalive < S ≤
// QuietFactor × keepalive (the receiver's own), from a peer whose
// latest announcement of its current run is an hbd one that lists no
// group held there, configured here or not (peerRsc.holdsNothing;
// anything else is ignored, with a WARN once per LogEvery but before
// any announcement), makes the receiver wait deadtime × S / keepalive
// (as it stands when the status comes, never less than the deadtime in
// force: a later reload does not stretch it) after the peer was last
// heard before it declares the peer, or one of its links, dead:
// as many statuses lost in a row as without quiet. Late-heartbeat
// warnings scale likewise. It ends with the next status without the
// field (an older one, by seq, is not read) and, for the deadline, with
// any message of the peer other than a status and newer than its last
// status (a quiet node wakes before it sends one). When it ends, what
// was heard of the peer before is not judged by the plain deadtime at
// once (its other links' last statuses were quiet ones; a routine status
// read at this node's next wake-up may be older than a deadtime): no
// deadline of the peer or of its links comes before a deadtime after
// that moment (quietEnded). Once this node has sent news (any message
// but a status and an acknowledgement) to a quiet peer, its deadline is
// at most 2 × deadtime + keepalive after that (never less than a
// deadtime after it was last heard): a live quiet node wakes when it
// reads the news, or, if the news was lost, when it reads the gap it
// left with this node's next status, within a deadtime.
// So whatever waits on the quiet peer (a handoff to it, a group that
// fails here and has no other candidate) waits about as long as without
// quiet. A stall of this node's own loop holds deaths back for
// StallGraceFactor of the slowest quiet peer's S. hbd status shows it
// (PeerStatus.Quiet, DeadAt).
//
// Waking. Anything but routine work in a Step (quietAfterStep) ends
// quiet at once: a message to send that is not routine, a group to start,
// stop or probe, an operator command, a reload, a peer's state or
// generation change, a link down, a message of the peer other than a
// status, a missing seq either way. A status without hbd_quiet goes out
// at once, the next ones every keepalive.
//
// Why it is safe. Failover is unchanged: the quiet node holds nothing,
// still hears the holder every keepalive and declares it dead a deadtime
// after it was last heard, as before (the daemon reads routine statuses
// at its next wake-up, with their arrival times, so a quiet node wakes at
// its deadlines and S only); and the holder is never quiet in its peer's
// eyes (it holds a group, so it never goes quiet, and a node that becomes
// the holder wakes first, its announcement ending the scaled deadline at
// the receiver even when its statuses are lost). Nor is a holder whose
// statuses say hbd_quiet all the same (a bug, another build) believed:
// its own announcements list what it holds, and the receiver ignores
// the field while the latest of them lists anything. The rule reads the
// peer's own word, not the receiver's view of who holds what (its
// placement facts, read against its own groups): that view can go stale
// while a reload changes the groups on one node before the other, and
// refusing a true quiet node's claim is a false death. The peer's word
// does not refuse one: a node announces every change of what it holds,
// goes quiet only after a deadtime in which it sent nothing but routine
// messages, and says hbd_quiet for a deadtime more, so its latest
// announcement, listing nothing, went out a deadtime before its first
// hbd_quiet and two before its first status at S; a receiver that has
// not got it has a missing seq once any later status arrives, and its
// ask for it wakes the quiet node (so does the hbd_ask that follows
// asks in vain). What is later is only the holder noticing the death of
// its quiet peer (or of a link from it) while it has nothing to tell
// it: up to k × deadtime instead of deadtime (30 s at 1 s / 3 s;
// keepalived's master never notices its backup's death). In a cluster
// of two without quorum the holder keeps its groups whether its peer
// lives or not, so nothing it holds depends on that notice; whatever
// would need the peer sends it news first, which bounds the wait as
// above (a move of a group to the dead node: the handoff request goes
// unanswered and the group stays where it runs,
// TestQuietMoveToDeadPassive). Not with three nodes: a passive node whose
// death is noticed late could be chosen as the taker of a dead holder's
// groups. Not with quorum: the holder would count a dead quiet peer
// towards its majority for longer. Not with fencing or profile safe: in
// a partition each side fences the other a deadtime after it last heard
// it, and a quiet passive would fence the holder k × deadtime before the
// holder even noticed, turning every partition into a failover. A
// partition otherwise goes as before: the passive takes the groups after
// deadtime; when it heals, both hold them and the announcements resolve
// it (resolveConflict), whether or not the holder had noticed. The
// announcing phase makes the switch safe against loss: a receiver that
// got none of the statuses that said hbd_quiet has missed a deadtime of
// statuses (its own, or longer) and has declared the peer dead already,
// as it would have without quiet; the quiet node's next status makes it
// live again, and the holder's announcement to a peer heard again wakes
// it. The simulation's calm runs with a quiet node (RandomQuietPassiveConfig)
// check that no quiet node is ever declared dead.

const (
	// QuietFactor is the most keepalives a quiet node's status interval
	// spans (k), and the most a node honours of a quiet peer's: the
	// peer's own status reading then costs a tenth of what it does.
	QuietFactor = 10
	// QuietNoticeMax bounds how late the holder may notice the death of
	// its quiet peer: k × deadtime stays within max(deadtime,
	// QuietNoticeMax), Heartbeat's default deadtime. Where k falls under
	// 2 (a deadtime above QuietNoticeMax / 2) no node goes quiet.
	QuietNoticeMax = 30 * time.Second
	// QuietMaxRatio bounds deadtime / keepalive for a quiet node: it
	// wakes about once a deadtime, at its peer's deadline, and reads the
	// peer's routine statuses that came meanwhile in one go; the links
	// take more than 32 of them at one wake-up for a flood (hbd/link).
	QuietMaxRatio = 16
)

type quietPhase int

const (
	quietOff        quietPhase = iota
	quietAnnouncing            // its statuses say hbd_quiet at the normal rate
	quietOn                    // its status goes out every q.every
)

// quietState is this node's side of it.
type quietState struct {
	phase quietPhase
	// every is S while announcing or quiet.
	every time.Duration
	// calmSince: since when every condition to go quiet has held and
	// nothing but routine messages went out (zero: not calm now).
	calmSince time.Time
	// announcedAt: the first status that said hbd_quiet in this phase.
	announcedAt time.Time
	// lastStatusAt: when the last status went out.
	lastStatusAt time.Time
	// news: this Step sent something that is not routine (emit), or a
	// peer asked for a message again; exempt: the status being emitted
	// differs from the last one only in hbd_quiet.
	news   bool
	exempt bool
}

// quietHonoured is the longest status interval this node honours from a
// quiet peer (hbd_quietmax of its announcements), 0 unless its own
// configuration lets a node of the pair go quiet (quietBlocked): then
// neither node of the pair goes quiet, and a peer's hbd_quiet is not
// honoured here either.
func (n *Node) quietHonoured() time.Duration {
	if quietBlocked(n.cfg) != "" {
		return 0
	}
	return QuietFactor * n.keepalive
}

// quietBlocked says why c lets no node of the pair go quiet nor honour
// a quiet peer ("": it does; the timings aside): quiet_passive off, not
// two nodes, quorum, fencing or profile safe (the comment at the top of this file).
func quietBlocked(c *config.Config) string {
	switch {
	case c.NoQuietPassive:
		return "quiet_passive off"
	case len(c.Nodes) != 2:
		return "not a pair of nodes"
	case c.Quorum.Enabled(len(c.Nodes)):
		return "quorum on"
	case c.Fence.Enabled() || c.Profile == config.ProfileSafe:
		return "fencing or profile safe"
	}
	return ""
}

// peerBusy: p holds (or starts) one of this node's groups, by its
// announcements as the placement rule reads them.
func (n *Node) peerBusy(p *peer) bool {
	f := n.placementFacts()
	for _, g := range n.res.groups {
		if f.holds(p.name, f.of(g)) {
			return true
		}
	}
	return false
}

// QuietInterval is the status interval a node of c sends while quiet
// (S = k × keepalive, k = QuietFactor lowered so that k × deadtime ≤
// max(deadtime, QuietNoticeMax)), when its peer honours that long an
// interval; 0 and why when c lets no node go quiet: quiet_passive off,
// not two nodes, quorum, fencing or profile safe (see doc.go), a
// deadtime of more than QuietMaxRatio keepalives, k < 2.
func QuietInterval(c *config.Config) (time.Duration, string) {
	if why := quietBlocked(c); why != "" {
		return 0, why
	}
	if c.Deadtime > QuietMaxRatio*c.Keepalive {
		return 0, fmt.Sprintf("deadtime above %d keepalives", QuietMaxRatio)
	}
	k := time.Duration(QuietFactor)
	if lim := max(c.Deadtime, QuietNoticeMax); k*c.Deadtime > lim {
		k = lim / c.Deadtime
	}
	if k < 2 {
		return 0, fmt.Sprintf("deadtime above %s", QuietNoticeMax/2)
	}
	return k * c.Keepalive, ""
}

// quietEvery is S, the status interval this node would use while quiet:
// QuietInterval, no longer than its peer honours; 0 when it may not go
// quiet at all (QuietInterval's reasons, a peer that does not honour
// it).
func (n *Node) quietEvery() time.Duration {
	if len(n.peers) != 1 {
		return 0
	}
	s, _ := QuietInterval(n.cfg)
	s = min(s, n.peers[0].rsc.quietMax)
	if s < 2*n.keepalive {
		return 0
	}
	return s
}

// quietCheap is the part of quietMay asked after every event: it fails
// at once on a node that holds a group.
func (n *Node) quietCheap() bool {
	if n.stopped || n.state != StateActive || len(n.peers) != 1 || n.cfg.NoQuietPassive {
		return false
	}
	for _, g := range n.res.groups {
		if g.state != GroupStopped && g.state != GroupFailed {
			return false // held, starting, stopping, probing
		}
	}
	p := n.peers[0]
	if !n.live(p) || p.state != StateActive || len(p.missing) > 0 || !p.rsc.announced || !p.rsc.hbd || p.rsc.quietMax == 0 || !n.peerBusy(p) {
		return false
	}
	for _, l := range p.links {
		if l.state != LinkUp {
			return false
		}
	}
	return true
}

// quietMay: every condition to go quiet holds now (but the calm, which
// quietAfterStep counts). What it reads changes only with events that
// wake a quiet node anyway (quietAfterStep), so it is asked only on the
// way into quiet, not while quiet.
func (n *Node) quietMay() bool {
	r := &n.res
	if !r.joined || !r.initialDone || n.now.Before(n.start.Add(n.initdead)) ||
		n.effectiveDeadtime() != n.deadtime || r.stopping || r.txn != nil || r.pendingWhy != "" ||
		r.awaitDone != "" || len(r.standbyFrom) > 0 || len(r.acqs) > 0 || len(r.takeovers) > 0 ||
		r.unsent.tries > 0 || r.needSync || n.now.Before(r.fenceUntil) || n.now.Before(r.regainUntil) ||
		len(n.sb.fences) > 0 || n.now.Before(n.sb.holdUntil) {
		return false
	}
	rule := n.placementFacts()
	for _, g := range r.groups {
		if rule.wantOf(g) == n.name {
			return false // it is to start here: its start is not far
		}
	}
	return true
}

// quietAfterStep runs at the end of every Step: anything but routine
// work in it wakes a quiet node (its status goes out at once, without
// hbd_quiet, and then every keepalive), and a node calm for a deadtime
// announces hbd_quiet for a deadtime, then goes quiet. disturbed says
// that something reconcile reads changed in this Step (touch, recheck:
// a peer's state, generation, links or announcement, a missing seq,
// any event but a Tick or a Receive).
func (n *Node) quietAfterStep(disturbed bool) {
	q := &n.q
	disturbed = disturbed || q.news || n.actedBeyondSends()
	q.news = false
	if disturbed || !n.quietCheap() {
		q.calmSince = time.Time{}
		n.wakeQuiet()
		return
	}
	if q.phase == quietOn {
		return
	}
	s := n.quietEvery()
	if s == 0 || !n.quietMay() || q.phase == quietAnnouncing && s != q.every {
		q.calmSince = time.Time{}
		n.wakeQuiet()
		return
	}
	if q.calmSince.IsZero() {
		q.calmSince = n.now
		return
	}
	switch q.phase {
	case quietOff:
		if n.now.Sub(q.calmSince) >= n.deadtime {
			q.phase, q.every, q.announcedAt = quietAnnouncing, s, time.Time{}
		}
	case quietAnnouncing:
		if !q.announcedAt.IsZero() && n.now.Sub(q.announcedAt) >= n.quietAnnounceFor() {
			q.phase = quietOn
			n.nextStatus = q.lastStatusAt.Add(s)
			if !n.nextStatus.After(n.now) {
				n.nextStatus = n.now.Add(s)
			}
			n.logf(LevelInfo, "Holding no resource group: status every %d ms instead of %d ms (quiet_passive)", s.Milliseconds(), n.keepalive.Milliseconds())
		}
	}
}

// quietAnnounceFor is how long a node says hbd_quiet at the normal rate
// before it slows down: the longest deadtime either node may apply (its
// own, the one its peer announces, the peer's reload transition), so
// that a peer that missed every such status has declared it dead anyway.
func (n *Node) quietAnnounceFor() time.Duration {
	d := n.deadtime
	if len(n.peers) == 1 {
		d = max(d, n.peers[0].deadtime, n.peers[0].hbdDT)
	}
	return d
}

// actedBeyondSends: this Step asked for something but messages and log
// lines (a group operation, a hook, a fence...).
func (n *Node) actedBeyondSends() bool {
	for _, a := range n.out {
		switch a.(type) {
		case *Send, Log, PeerGenerations:
		default:
			return true
		}
	}
	return false
}

// wakeQuiet ends quiet (or its announcement): a status without hbd_quiet
// goes out at once, the next ones every keepalive.
func (n *Node) wakeQuiet() {
	q := &n.q
	if q.phase == quietOff {
		return
	}
	was := q.phase
	q.phase, q.every, q.announcedAt = quietOff, 0, time.Time{}
	if was == quietOn {
		n.logf(LevelInfo, "Status every %d ms again", n.keepalive.Milliseconds())
	}
	if n.booted && !n.stopped {
		n.sendStatus()
		n.nextStatus = n.now.Add(n.keepalive)
	}
}

// statusInterval is the time from one status to the next.
func (n *Node) statusInterval() time.Duration {
	if n.q.phase == quietOn {
		return n.q.every
	}
	return n.keepalive
}

// quietStatusField adds hbd_quiet to a status while this node announces
// or is quiet.
func (n *Node) quietStatusField(m *wire.Message) {
	q := &n.q
	if q.phase == quietOff {
		return
	}
	m.SetMillis(wire.FHbdQuiet, q.every)
	if q.announcedAt.IsZero() {
		q.announcedAt = n.now
	}
}

// readQuiet takes a fresh status's hbd_quiet: the peer sends its status
// every S from now on, S more than one and at most QuietFactor of this
// node's keepalives, while its latest announcement says it holds nothing
// (holdsNothing); another value, or a holder's claim, is ignored (WARN,
// once per LogEvery): such a peer may then be declared dead.
func (n *Node) readQuiet(p *peer, m *wire.Message) {
	was := n.peerDeadtime(p)
	n.readQuietField(p, m)
	n.quietEnded(p, was)
}

func (n *Node) readQuietField(p *peer, m *wire.Message) {
	p.quietNewsAt = time.Time{}
	if _, ok := m.Bytes(wire.FHbdQuiet); !ok { // (Get would copy the value)
		if p.quietEvery != 0 {
			p.quietEvery, p.quietDT = 0, 0
			n.logf(LevelInfo, "%s sends its status every keepalive again", p.name)
		}
		return
	}
	if n.quietHonoured() == 0 {
		p.quietEvery, p.quietDT = 0, 0
		return
	}
	s, err := m.MillisValue(wire.FHbdQuiet)
	if err != nil || s <= n.keepalive || s > QuietFactor*n.keepalive {
		p.quietEvery, p.quietDT = 0, 0
		if p.quietWarned.IsZero() || n.now.Sub(p.quietWarned) >= LogEvery {
			p.quietWarned = n.now
			n.logf(LevelWarn, "%s says it sends its status every %q ms (hbd_quiet): not more than one and at most %d of this node's keepalives (%d ms); ignored, so it is declared dead after %d ms of silence", p.name, clipped(m.Value(wire.FHbdQuiet)), QuietFactor, n.keepalive.Milliseconds(), n.effectiveDeadtime().Milliseconds())
		}
		return
	}
	if !p.rsc.holdsNothing() {
		p.quietEvery, p.quietDT = 0, 0
		if p.rsc.announced && (p.quietWarned.IsZero() || n.now.Sub(p.quietWarned) >= LogEvery) {
			p.quietWarned = n.now
			n.logf(LevelWarn, "%s says it sends its status every %d ms (hbd_quiet) while its latest announcement lists groups it holds: ignored, so it is declared dead after %d ms of silence", p.name, s.Milliseconds(), n.effectiveDeadtime().Milliseconds())
		}
		return
	}
	dt := scaleBy(n.effectiveDeadtime(), s, n.keepalive)
	if s != p.quietEvery {
		n.logf(LevelInfo, "%s holds nothing: its status may come only every %d ms (hbd_quiet); it is declared dead after %d ms of silence", p.name, s.Milliseconds(), dt.Milliseconds())
	}
	p.quietEvery, p.quietDT = s, dt
}

// holdsNothing: the peer's latest announcement of its current run is an
// hbd one that lists no group held there (starting and stop-failed ones
// are listed held), configured here or not (holdsAny): only then is its
// hbd_quiet believed (readQuiet). It is the peer's own word, not this
// node's reading of it against its own groups (the placement rule's view
// of who holds what): a reload that changes the groups on one node first
// does not change it.
func (r *peerRsc) holdsNothing() bool {
	return r.announced && r.hbd && !r.holdsAny()
}

// peerDeadtime is the silence after which p (and each of its links) is
// declared dead: the deadtime in force, times S / keepalive while its
// last status said hbd_quiet=S (the same number of statuses lost).
func (n *Node) peerDeadtime(p *peer) time.Duration {
	if p.quietEvery == 0 {
		return n.effectiveDeadtime()
	}
	return max(n.effectiveDeadtime(), p.quietDT)
}

// quietAwake: p sent a message other than a status and newer than its
// last status: a quiet node wakes before it sends any (emit), so its
// deadline is the normal one again.
func (n *Node) quietAwake(p *peer, seq uint64) {
	if p.quietEvery != 0 && seq > p.statusSeq {
		was := n.peerDeadtime(p)
		p.quietDT = 0 // (quietEvery stays for the late-heartbeat check of its next status)
		n.quietEnded(p, was)
	}
}

// quietEnded: p's deadtime was was and may now be shorter (its scaled
// deadline ended: a status without hbd_quiet, a claim no longer believed,
// another of its messages, its restart; or a shorter S). What was heard
// of it before is not judged by the shorter one: its other links' last
// quiet statuses, or an older status read late with newer ones (a
// routine status waits for this node's next wake-up). So no deadline of
// p or of its links comes before a deadtime (in force now) after this
// moment: it proved alive now, and its next statuses come every
// keepalive on every link. A real death is noticed at most a deadtime
// later, once. The floors of a flood's grant (routineFlood), given for
// the deadtime it had then, come down to the same moment: what the flood
// dropped before is covered by this floor, and its statuses from now on
// are read at once.
func (n *Node) quietEnded(p *peer, was time.Duration) {
	if dt := n.peerDeadtime(p); dt < was {
		until := n.now.Add(dt)
		p.deadFloor = maxTime(p.deadFloor, until)
		p.floodFloor = minTime(p.floodFloor, until)
		for _, l := range p.links {
			l.floodFloor = minTime(l.floodFloor, until)
		}
	}
}

// linkDeadline is when link l of p is declared dead, its deadtime dt
// (peerDeadtime).
func (p *peer) linkDeadline(l *link, dt time.Duration) time.Time {
	d := maxTime(l.lastHeard.Add(dt), p.deadFloor)
	if !l.lastHeard.After(l.floodAt) {
		d = maxTime(d, l.floodFloor) // (not heard there since a flood's grant)
	}
	return d
}

// quietScaled is d scaled for p's status interval (late heartbeats too).
func (n *Node) quietScaled(d time.Duration, p *peer) time.Duration {
	if p.quietEvery == 0 {
		return d
	}
	return scaleBy(d, p.quietEvery, n.keepalive)
}

// scaleBy is d × num / den without overflow (num / den is at most
// QuietFactor, so the result fits).
func scaleBy(d, num, den time.Duration) time.Duration {
	hi, lo := bits.Mul64(uint64(d), uint64(num))
	if hi >= uint64(den) {
		return time.Duration(1<<63 - 1)
	}
	q, _ := bits.Div64(hi, lo, uint64(den))
	return time.Duration(min(q, 1<<63-1))
}

// peerGrace is when p may be declared dead again after this node's own
// loop stalled: StallGraceFactor keepalives after the stall
// (graceUntil), or StallGraceFactor of p's S while p is quiet (its next
// status may be that far).
func (n *Node) peerGrace(p *peer) time.Time {
	g := n.graceUntil
	if p.quietDT > 0 && !n.stallAt.IsZero() {
		if q := n.stallAt.Add(StallGraceFactor * p.quietEvery); q.After(g) {
			g = q
		}
	}
	return g
}

// slowestPeerInterval is the longest time between two statuses of a live
// peer: the keepalive, or a quiet peer's S (the stall grace covers it).
func (n *Node) slowestPeerInterval() time.Duration {
	d := n.keepalive
	for _, p := range n.peers {
		if p.quietDT > 0 {
			d = max(d, p.quietEvery)
		}
	}
	return d
}

// quietNews: this node sends m, not routine, to every peer: a quiet peer
// wakes when it reads it (any message but a status).
func (n *Node) quietNews(m *wire.Message) {
	if m.Type() == wire.TStatus {
		return
	}
	for _, p := range n.peers {
		if p.quietEvery != 0 && p.quietNewsAt.IsZero() {
			p.quietNewsAt = n.now
		}
	}
}

// quietShown is the status interval `hbd status` shows for p: its
// hbd_quiet while its deadline is scaled for it.
func (p *peer) quietShown() time.Duration {
	if p.quietDT == 0 {
		return 0
	}
	return p.quietEvery
}
