package cluster

import (
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

type peer struct {
	name      string
	uuid      [16]byte
	uuidKnown bool

	state     string // "" (never heard), init, up, active, dead
	heard     bool   // accepted a packet since start or since declared dead
	lastHeard time.Time
	// stateSince: when state last changed (setPeerState).
	stateSince time.Time
	// expectFrom: added by a reload at this time; never heard, it is
	// declared dead initdead later.
	expectFrom time.Time

	lastStatus time.Time // arrival of the last status (late heartbeat)
	statusSeq  uint64
	deadtime   time.Duration // dt the peer announces
	hbdDT      time.Duration // hbd_dt of its last status: the deadtime it applies, when dt says otherwise (0: none)
	dtWarn     logBudget     // warnings of its deadtime beyond peerDeadtimeBound
	// quietEvery is the hbd_quiet of its last status (0: none, or not
	// honoured): it sends its status this often (quiet.go).
	quietEvery  time.Duration
	quietDT     time.Duration // the deadtime scaled for it when it came
	quietNewsAt time.Time     // when this node first sent it news since its last status (zero: none)
	quietWarned time.Time     // when a bad hbd_quiet was last logged
	// deadFloor: no deadline of it or of its links before this: its
	// scaled deadline ended (quietEnded). floodFloor: no deadline of it
	// before this, until it is heard again: the links found a flood of
	// routine datagrams on a link it was heard on (routineFlood, at
	// floodGrant: once per time it is heard; that link's own floor is the
	// link's floodFloor).
	deadFloor  time.Time
	floodFloor time.Time
	floodGrant time.Time

	gen uint64
	// genFloor is the newest generation known of the peer, also from
	// before this run (Options.PeerGenerations): older ones are replays.
	genFloor uint64
	lastSeq  uint64 // 0: no seq tracked
	lastLink string
	deadSeq  uint64 // highest seq seen before it was declared dead
	deadGen  uint64
	missing  []missingSeq // sorted by seq
	// firstSeq is the first seq accepted since tracking (re)started;
	// early marks which of the EarlyWindow seqs below it arrived since
	// (reordered packets sent before the first one we saw).
	firstSeq uint64
	early    uint64

	acked      uint64 // highest of our seqs it acknowledged
	ackTrigger uint64

	links []*link

	rsc peerRsc // what it announced about resource groups (peerrsc.go)
	// sets: the settings its latest announcement carried (settingsgc.go).
	sets peerSettings
	// The log budget of the refusals of settings it announced (one line
	// per LogEvery); setsRefused: how many were refused since the last
	// line (settingsRefused).
	setsLog     logBudget
	setsRefused int
	// The log budget of the settings taken from it (settingTaken).
	takenLog logBudget
	// word: what its latest announcement before its death said (abandon.go).
	word lastWord
	// partitionAt: when it was heard again after it was declared dead,
	// in the same run (a partition healed). A Heartbeat peer answers that
	// by giving up every group and restarting (resolveConflict).
	partitionAt time.Time
	// fencedAt: when a fence of it last succeeded (it was off then).
	fencedAt time.Time
	// deadGroupless: declared dead (not gracefully) while this node had
	// no group, not heard since (guardGrouplessDeaths).
	deadGroupless bool

	lost, recovered, late uint64
	worst                 time.Duration
	dropped               [numDropReasons]uint64
	logged                [numDropReasons]time.Time

	// The log budget of its NS_ messages (NSLogBurst per LogEvery).
	nsLog logBudget
	// skewWarned: when its clock's lag was last logged (ClockWarnSkew).
	skewWarned time.Time
}

// logBudget bounds the lines of one kind logged per LogEvery: those past
// the burst are counted, and the count said when the next interval's
// first line is written.
type logBudget struct {
	since         time.Time
	logged, muted int
}

// allow says whether one more line may be written now, within burst per
// LogEvery; at the first of an interval, muted says how many the last
// one held back (if any).
func (b *logBudget) allow(now time.Time, burst int, muted func(int)) bool {
	if b.since.IsZero() || now.Sub(b.since) >= LogEvery {
		if b.muted > 0 {
			muted(b.muted)
		}
		*b = logBudget{since: now}
	}
	if b.logged >= burst {
		b.muted++
		return false
	}
	b.logged++
	return true
}

type link struct {
	name      string
	state     string // "" (never heard), up, dead
	lastHeard time.Time
	// floodFloor: not declared dead before this, until heard on it after
	// floodAt: its routine datagrams were found flooded then
	// (routineFlood).
	floodFloor, floodAt time.Time
}

func (p *peer) stateName() string {
	if p.state == "" {
		return StateUnknown
	}
	return p.state
}

func (l *link) stateName() string {
	if l.state == "" {
		return LinkUnknown
	}
	return l.state
}

// drop counts a dropped message and logs it (at most once per peer and
// reason per LogEvery) when msg is not empty.
func (n *Node) drop(p *peer, r DropReason, l Level, msg string) {
	n.dropped[r]++
	if p == nil {
		return
	}
	p.dropped[r]++
	if msg == "" {
		return
	}
	if last := p.logged[r]; !last.IsZero() && n.now.Sub(last) < LogEvery {
		return
	}
	p.logged[r] = n.now
	n.out = append(n.out, Log{Level: l, Msg: msg})
}

// unknownNode: a message from src, a node not configured here. Its
// name is remembered (MaxUnknownNodes of them) by its first
// maxLoggedText bytes, all a log line quotes of it: a datagram-long name
// is no node's.
func (n *Node) unknownNode(src []byte) {
	n.dropped[DropUnknownNode]++
	key := src[:min(len(src), maxLoggedText)]
	last, seen := n.unknown[string(key)]
	if seen && n.now.Sub(last) < LogEvery {
		return
	}
	if !seen && len(n.unknown) >= MaxUnknownNodes {
		return
	}
	n.unknown[string(key)] = n.now
	n.logf(LevelError, "process_status_message: bad node [%s] in message", clipped(string(src)))
}

// maxMessageAge is how old (by this node's clock) a message's ts may
// be: a message is sent at most TimestampResolution after its ts, a
// retransmission or a delayed copy arrives within about a deadtime, and
// the sender's clock may lag by up to MaxClockSkew. Anything older was
// captured and replayed (or its sender's clock is wrong).
func (n *Node) maxMessageAge() time.Duration {
	return n.deadtime + MaxClockSkew + TimestampResolution
}

// peerGenerations is the newest generation known of every peer, for the
// daemon to keep (PeerGenerations).
func (n *Node) peerGenerations() map[string]uint64 {
	gens := make(map[string]uint64, len(n.peers))
	for _, p := range n.peers {
		if p.genFloor > 0 {
			gens[p.name] = p.genFloor
		}
	}
	return gens
}

// nsLogf writes a log line of an NS_ message's handler within p's budget:
// at most NSLogBurst lines per LogEvery; the lines past it are counted and
// the count logged when the next interval's first line is written.
func (n *Node) nsLogf(p *peer, l Level, format string, args ...any) {
	if p.nsLog.allow(n.now, NSLogBurst, func(muted int) {
		n.logf(LevelWarn, "%d log line(s) about NS_ messages from %s suppressed", muted, p.name)
	}) {
		n.logf(l, format, args...)
	}
}

// hearLink records a packet on a link (also duplicates, which is how a
// second link is seen alive).
func (n *Node) hearLink(p *peer, name string, at time.Time) {
	var l *link
	for _, x := range p.links {
		if x.name == name {
			l = x
		}
	}
	if l == nil {
		l = &link{name: name}
		p.links = append(p.links, l)
	}
	if at.After(l.lastHeard) {
		l.lastHeard = at
	}
	if l.state != LinkUp {
		l.state = LinkUp
		n.touch()
		n.logf(LevelInfo, "Link %s:%s up.", p.name, l.name)
	}
}

// receive reads a message in place: a value is compared, parsed or
// copied, never kept, and the node and type names come from this node's
// configuration and the wire constants, so a heartbeat from a configured
// node allocates nothing here.
func (n *Node) receive(ev Receive) {
	m := ev.Msg
	srcB, _ := m.Bytes(wire.FSrc)
	if len(srcB) == 0 {
		n.drop(nil, DropMalformed, 0, "")
		return
	}
	if string(srcB) == n.name {
		// Our own packets: heard back on a bcast or mcast link, or where
		// what a ucast link sends to a peer's address reaches this node.
		n.heardOwn(ev.Link)
		return
	}
	p := n.peerNamed(srcB)
	if p == nil {
		n.unknownNode(srcB)
		return
	}
	src := p.name
	typ := m.Type()
	ts, tsErr := m.HexValue(wire.FTimestamp)
	if typ == "" || tsErr != nil || ts == 0 {
		n.drop(p, DropMalformed, LevelError, "process_clustermsg: missing from/ts/type from "+src)
		return
	}
	var gen uint64
	if _, ok := m.Bytes(wire.FGeneration); ok {
		g, err := m.HexValue(wire.FGeneration)
		if err != nil {
			n.drop(p, DropMalformed, LevelError, "should_drop_message: bad generation number from "+src)
			return
		}
		gen = g
	}
	if cur := max(p.gen, p.genFloor); gen < cur {
		n.drop(p, DropStaleGeneration, LevelError, "should_drop_message: attempted replay attack ["+src+"]? [gen = "+strconv.FormatUint(gen, 10)+", curgen = "+strconv.FormatUint(cur, 10)+"]")
		return
	}
	age := n.now.Sub(time.Unix(int64(ts), 0))
	if age > n.maxMessageAge() {
		n.drop(p, DropStaleTimestamp, LevelError, "should_drop_message: message from "+src+" sent "+age.Truncate(time.Second).String()+" ago (ts), more than "+n.maxMessageAge().String()+": replayed, or its clock lags (sync the clocks)")
		return
	}
	if age > n.deadtime+ClockWarnSkew && (p.skewWarned.IsZero() || n.now.Sub(p.skewWarned) >= ClockWarnEvery) {
		p.skewWarned = n.now
		n.logf(LevelWarn, "Clock of node %s lags this node's by about %s (ts): synchronise the clocks (messages older than %s are refused as replays)", src, age.Truncate(time.Second), n.maxMessageAge())
	}
	if gen > p.genFloor {
		p.genFloor = gen
		n.out = append(n.out, PeerGenerations{Generations: n.peerGenerations()})
	}
	if u, ok := m.Bytes(wire.FSrcUUID); ok && len(u) == wire.UUIDLen {
		copy(p.uuid[:], u)
		p.uuidKnown = true
	}
	dest, _ := m.Bytes(wire.FDest)
	toUs := len(dest) == 0 || string(dest) == n.name

	if strings.HasPrefix(typ, "NS_") {
		// No seq: no sequence tracking and, as a replay could not be told
		// from a fresh one, no node liveness; the link is heard.
		n.hearLink(p, ev.Link, ev.Now)
		if !toUs {
			n.drop(p, DropWrongDest, 0, "")
			return
		}
		switch typ {
		case wire.TAck:
			n.onAck(p, m)
		case wire.TRexmit:
			n.onRexmit(p, m)
		case wire.TNakRexmit:
			n.onNak(p, m)
		}
		return
	}

	seq, err := m.HexValue(wire.FSeq)
	if err != nil || seq == 0 {
		n.drop(p, DropMalformed, LevelError, "should_drop_message: bad sequence number from "+src)
		return
	}
	// A peer declared dead that is heard again (back from a partition or
	// a stall, restarted, or first heard after initdead) may hold groups:
	// starts under way here are called off below (peerReturned), unless
	// it had given everything up (a graceful stop).
	back := p.state == StateDead && !p.heard && !p.rsc.gaveUp()
	restart := false
	if gen > p.gen {
		if p.gen > 0 {
			n.logf(LevelInfo, "Heartbeat restart on node %s", p.name)
		}
		restart = true
		p.gen = gen
		p.lastSeq, p.deadSeq, p.statusSeq = 0, 0, 0
		p.missing = nil
		p.acked = 0
		p.lastStatus = time.Time{}
		p.deadtime, p.hbdDT = 0, 0
		was := n.peerDeadtime(p)
		p.quietEvery = 0
		n.quietEnded(p, was)
		n.peerRestarted(p)
	}
	// A seq of this generation no newer than the last one seen before the
	// peer was declared dead was sent before that: seen then, or lost for
	// good. Tracking restarts when the peer returns (its first seq after
	// the death), so the early window and the missing list do not cover
	// these; without this check a copy resent on another node's request
	// after the return would be taken as new and acted on twice.
	if !restart && gen == p.deadGen && seq <= p.deadSeq {
		if p.state == StateDead {
			n.drop(p, DropReplay, LevelWarn, "should_drop_message: old packet from dead node "+src+" (seq "+strconv.FormatUint(seq, 10)+")")
		} else {
			n.drop(p, DropReplay, LevelWarn, "should_drop_message: packet from "+src+" sent before it was declared dead (seq "+strconv.FormatUint(seq, 10)+", then "+strconv.FormatUint(p.deadSeq, 10)+")")
		}
		return
	}
	switch n.track(p, seq, ev.Link) {
	case seqDuplicate:
		n.hearLink(p, ev.Link, ev.Now)
		if ev.Link == p.lastLink {
			n.drop(p, DropDuplicate, 0, "")
		}
		return
	case seqReplay:
		n.drop(p, DropReplay, LevelWarn, "should_drop_message: replayed or duplicate packet from "+src+" (seq "+strconv.FormatUint(seq, 10)+", last "+strconv.FormatUint(p.lastSeq, 10)+")")
		return
	}
	if p.state == StateDead && !restart && gen > 0 {
		n.logf(LevelCrit, "Cluster node %s returning after partition.", p.name)
		n.logf(LevelWarn, "Deadtime value may be too small.")
		p.partitionAt = ev.Now
		n.touch()
	}
	if back {
		n.peerReturned(p)
	}
	if !p.heard {
		n.peerJoined(p)
	}
	p.heard = true
	p.deadGroupless = false
	if ev.Now.After(p.lastHeard) {
		if n.heldSilent(p) {
			n.recheck() // it counts for the quorum again
		}
		p.lastHeard = ev.Now
	}
	n.hearLink(p, ev.Link, ev.Now)
	if !toUs {
		n.drop(p, DropWrongDest, 0, "")
		return
	}
	if typ != wire.TStatus || restart {
		n.recheck()
	}
	n.dispatch(p, typ, seq, ev.Now, m)
}

// dispatch acts on a message addressed to this node (or to all): one case
// per message type; the resource messages go to peerrsc.go.
func (n *Node) dispatch(p *peer, typ string, seq uint64, at time.Time, m *wire.Message) {
	n.runHook(typ, m)
	switch typ {
	case wire.TStatus:
		n.onStatus(p, seq, at, m)
	case wire.TShutdone:
		n.logf(LevelInfo, "Received shutdown notice from '%s'.", p.name)
		n.peerShutdown(p)
		if p.state != StateDead {
			n.markDead(p)
		}
	case wire.TResource:
		n.quietAwake(p, seq)
		n.onResource(p, seq, m)
	case wire.TAskResources:
		n.quietAwake(p, seq)
		n.onAskResources(p, seq, m)
	case wire.THBTakeover:
		n.quietAwake(p, seq)
		n.onHBTakeover(p, m)
	case wire.TReqNodes:
		r := n.newMessage()
		r.Set(wire.FDest, p.name)
		r.Set(wire.FType, wire.TRepNodes)
		r.Set(wire.FNodeList, n.nodeList)
		r.Set(wire.FDelNodeList, " ")
		n.sendMessage(r)
	case wire.TRepNodes:
		if nl := m.Value(wire.FNodeList); !sameNodes(nl, n.nodeList) {
			n.logf(LevelWarn, "%s lists the nodes [%s], ha.cf here lists [%s]; keeping ha.cf", p.name, clipped(strings.TrimSpace(nl)), strings.TrimSpace(n.nodeList))
		}
		n.gotNodes(p)
	}
	n.checkCommUp()
}

// statusOf is a status message's st: one of the State constants when it
// is one (no allocation), a copy otherwise.
func statusOf(m *wire.Message) string {
	b, _ := m.Bytes(wire.FStatus)
	switch string(b) {
	case StateInit:
		return StateInit
	case StateUp:
		return StateUp
	case StateActive:
		return StateActive
	case StateDead:
		return StateDead
	}
	return string(b)
}

func sameNodes(a, b string) bool {
	x, y := strings.Fields(a), strings.Fields(b)
	sort.Strings(x)
	sort.Strings(y)
	return strings.Join(x, " ") == strings.Join(y, " ")
}

func (n *Node) onStatus(p *peer, seq uint64, at time.Time, m *wire.Message) {
	st := statusOf(m)
	if st == "" {
		n.drop(p, DropMalformed, LevelError, "HBDoMsg_T_STATUS: status update without st field from "+p.name)
		return
	}
	if seq < p.statusSeq {
		return // an older status, arriving late
	}
	if !p.lastStatus.IsZero() && at.After(p.lastStatus) {
		// Scaled while its previous status said it was quiet.
		iv := at.Sub(p.lastStatus)
		ms := iv.Milliseconds()
		switch {
		case ms > n.quietScaled(n.deadtime, p).Milliseconds():
			// Heartbeat 3.0.6 also declares the node dead here; hbd does
			// not: the packet in hand proves it is alive.
			p.late++
			n.logf(LevelCrit, "Late heartbeat: Node %s: interval %d ms (> deadtime)", p.name, ms)
		case ms > n.quietScaled(n.warntime, p).Milliseconds():
			p.late++
			n.logf(LevelWarn, "Late heartbeat: Node %s: interval %d ms", p.name, ms)
		}
		if iv > p.worst {
			p.worst = iv
		}
	}
	if st != p.state {
		n.logf(LevelInfo, "Status update for node %s: status %s", p.name, clipped(st))
		n.recheck()
		n.setPeerState(p, st)
	}
	said := n.peerDeadtimeSaid(p)
	if d, err := m.MillisValue(wire.FDeadtime); err == nil {
		p.deadtime = d
	}
	p.hbdDT = 0
	if _, ok := m.Get(wire.FHbdDeadtime); ok { // mostly absent: MillisValue would build an error
		if d, err := m.MillisValue(wire.FHbdDeadtime); err == nil {
			p.hbdDT = d
		}
	}
	if n.quorumOn() {
		n.warnPeerDeadtime(p)
	}
	if n.peerDeadtimeSaid(p) != said {
		n.quorumWaitsFollow()
	}
	if at.After(p.lastStatus) {
		p.lastStatus = at
	}
	n.readQuiet(p, m)
	p.statusSeq = seq
	n.sbOnStatus(p, at, m)
}
