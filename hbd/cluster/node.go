package cluster

import (
	"fmt"
	"hash/fnv"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Presets, named after Heartbeat's where they come from it.
const (
	// AckEvery is Heartbeat's ACK_MSG_DIV: a peer's message is acknowledged
	// (NS_ackmsg) when its seq modulo AckEvery equals that peer's trigger.
	AckEvery = 10
	// SeqGap is Heartbeat's SEQGAP: a gap larger than this is not asked
	// for again ("lost a lot of packets!").
	SeqGap = 500
	// MaxMissing bounds the missing seqs kept per peer (the lowest go first).
	MaxMissing = 100
	// HistorySize is how many sent messages are kept for retransmission
	// (Heartbeat's MAXMSGHIST).
	HistorySize = 500
	// RexmitInterval is Heartbeat's max_rexmit_delay: a missing seq is
	// asked for again every RexmitInterval, the first time after a delay
	// below it (derived from the node names and seq, not random).
	RexmitInterval = 250 * time.Millisecond
	// RexmitGuard: a message is not resent twice within RexmitGuard
	// (Heartbeat's ACCEPT_REXMIT_REQ_MS).
	RexmitGuard = RexmitInterval - 10*time.Millisecond
	// MaxRexmitBatch bounds the messages resent for one request.
	MaxRexmitBatch = 50
	// RexmitPatience: once a seq an hbd peer sent after its latest
	// announcement has been asked for this many times in vain, the node
	// asks the peer to announce again (hbd_ask) rather than wait for the
	// seq, or for its NAK once it leaves the peer's history (seq.go).
	RexmitPatience = 4
	// StartDeadtimeBonus is added to the dt a node announces during its
	// first StartBonusFor (Heartbeat sends dt=deadtime+2000 ms for 5 s
	// after start, then a status with the plain deadtime). hbd sends it
	// as Heartbeat does but never obeys it (see peerDeadline).
	StartDeadtimeBonus = 2 * time.Second
	StartBonusFor      = 5 * time.Second
	// LogEvery: a drop log line is written at most once per peer and
	// reason (and per unknown node) in this interval.
	LogEvery = time.Minute
	// EarlyWindow: after the first packet of a peer (at our start, or
	// after its restart) packets up to EarlyWindow seqs older than it are
	// still accepted once each: they were sent earlier and overtaken on
	// the way (Heartbeat would drop them as duplicates, and with them the
	// first status of a peer that joined while packets were reordered).
	EarlyWindow = 64
	// MaxUnknownNodes bounds the unknown node names remembered for
	// rate-limiting their log lines.
	MaxUnknownNodes = 64
	// MaxClockSkew is how far a peer's clock may lag behind this node's
	// before its messages count as stale (see maxMessageAge). It is wide
	// on purpose: a peer whose messages are refused looks dead, and a
	// node that declares a live holder dead takes its groups, so the
	// rule must never trip on a merely drifting clock. It still refuses
	// a capture replayed a day later to a node that has just restarted
	// (within a run, seq numbers refuse every replay).
	MaxClockSkew = 24 * time.Hour
	// ClockWarnSkew: a peer whose fresh messages are older than this
	// (plus deadtime) by this node's clock gets a WARN line, once per
	// ClockWarnEvery: the clocks have drifted apart (sync them; AWS calls
	// fail past 5 minutes, and MaxClockSkew is the hard limit).
	ClockWarnSkew  = 5 * time.Minute
	ClockWarnEvery = time.Hour
	// TimestampResolution: ts is whole epoch seconds (hex), in Heartbeat
	// 3.0.6's messages as in hbd's, so a fresh message's ts may be up to
	// this much behind the time it was sent.
	TimestampResolution = time.Second
	// NSLogBurst bounds the log lines the handlers of NS_ messages
	// (NS_ackmsg, NS_rexmit, NS_nak_rexmit) write per peer in one LogEvery:
	// those messages carry no seq, so a captured one can be replayed for
	// a whole generation; past the burst, lines are counted and the count
	// is logged once the next interval begins.
	NSLogBurst = 20
)

// Stall detection (memberlist's idea). An event that comes more than
// StallFactor keepalives after the time NextTick asked for means this
// node's own loop did not run (VM pause, CPU starvation, a stopped
// process): on such an event no peer and no link is declared dead, and
// for StallGraceFactor keepalives afterwards neither (StallGraceFactor
// status intervals of the slowest quiet peer: quiet.go) — long enough
// for every live peer's next status to arrive.
const (
	StallFactor      = 1
	StallGraceFactor = 2
)

// Options configure a new Node.
type Options struct {
	Config     *config.Config
	UUID       [16]byte
	Generation uint64
	// PeerGenerations is the newest generation (hg) seen of each peer
	// before this run, as the daemon kept it (the PeerGenerations action):
	// a message of an older generation is refused as a replay from the
	// start, although its sender was never heard in this run. Nil: none
	// known.
	PeerGenerations map[string]uint64
	// Now is when the node starts; the first Tick is asked for then.
	Now time.Time
	// Settings are the cluster-wide operator settings this node persisted
	// in an earlier run (PersistSettings), if any.
	Settings []Setting
	// CheckSkips makes the node check its own shortcut (simulation and
	// tests): a tick that would skip reconcile, because nothing it reads
	// changed (reconcileAfter), runs it anyway, and the node panics if
	// that run did anything: a change reconcile reads that did not ask
	// for it. It costs what the shortcut saves.
	CheckSkips bool
	// Standing says that the caller executes standing status orders
	// (StandingStatus, standing.go) and hands the node what they sent
	// before each Step (Sent). Without it the node sends every status
	// itself, at a Tick.
	Standing bool
}

// Node is one cluster member's state machine. It is not safe for
// concurrent use: one goroutine owns it and calls Step.
type Node struct {
	cfg       *config.Config
	name      string
	uuid      [16]byte
	gen       uint64
	keepalive time.Duration
	deadtime  time.Duration
	warntime  time.Duration
	initdead  time.Duration
	ttl       int
	nodeList  string // "node1 node2 " as repnodes carries it

	created    time.Time
	booted     bool
	stopped    bool
	start      time.Time
	now        time.Time // latest event time
	state      string
	seq        uint64
	load       string
	nextStatus time.Time
	bonusOver  bool
	graceUntil time.Time
	// stallAt: when this node's own loop was last found stalled; a quiet
	// peer's grace runs StallGraceFactor of its S from then (peerGrace).
	stallAt time.Time
	// dtFloor is the longer deadtime of the configuration before a
	// reload, in force until dtFloorUntil (reconfigure.go).
	dtFloor      time.Duration
	dtFloorUntil time.Time
	// dtCeil is the shorter deadtime of the configuration before a
	// reload that lengthened it: until dtCeilUntil, a peer silent for it
	// does not count for the quorum (quorum.go: holdLongerDeadtime).
	dtCeil      time.Duration
	dtCeilUntil time.Time

	commUp      bool
	gotRepnodes bool
	join        joinWait // the node list request (join.go)

	peers []*peer
	// lastStatus is the own fields of the last status sent (sendStatus),
	// once lastStatusOK, and lastStatusView the peers as it saw them
	// (peersView): the next one equal to both may be routine.
	lastStatus     wire.Message
	lastStatusOK   bool
	lastStatusView uint64
	// hist is a ring of the last HistorySize messages sent with a seq,
	// oldest at histOld (0 until it is full); their seqs are consecutive.
	hist    []histEntry
	histOld int
	dropped [numDropReasons]uint64
	unknown map[string]time.Time // unknown node → last logged

	res resources  // resource groups (groups.go)
	sb  splitBrain // ping nodes, fencing, profile safe (safe.go)
	// view is placementFacts' memo while reconcile walks the groups
	// (viewKept); a group's state change forgets it (view.go).
	view     *facts
	viewKept bool
	// viewBuf is the storage every view is built in (buildFacts), reused
	// from one to the next: there is one view at a time, read at once.
	viewBuf facts
	// sets are the cluster-wide operator settings (settings.go);
	// setsText is their hbd_settings field, "" until made again after a
	// change (setsTextOK) or under another configuration (setsTextCfg);
	// setsPartial: it leaves some out (announcedSettings).
	sets        settingsTable
	setsText    string
	setsTextOK  bool
	setsTextCfg *config.Config
	setsPartial bool
	// setsSaved are the settings last persisted (PersistSettings), those
	// the announcements carry; setsDirty: the table changed since;
	// setsSaveAt: the earliest time of the next persist
	// (settingsChanged).
	setsSaved  []Setting
	setsDirty  bool
	setsSaveAt time.Time
	// setsRoom is the most bytes hbd_settings may take in this
	// configuration (SettingsRoom), worked out when a command first
	// needs it (setsRoomOK) and again after a reload.
	setsRoom   int
	setsRoomOK bool
	// sigBuf is rscChanged's scratch.
	sigBuf []byte
	// next is NextTick's answer, kept until the next Step (nextOK): it
	// reads only the node's state, which only Step changes, and it is
	// asked twice an event (by the daemon after a Step, by the stall
	// check at the start of the next).
	next   time.Time
	nextOK bool

	checkSkips bool // Options.CheckSkips

	q quietState // quiet passive (quiet.go)

	standing standingState // the standing status order (standing.go)

	out []Action
	box outbox
}

// New returns a node that has not sent anything yet; its first Tick
// (at o.Now, see NextTick) sends the first status messages. It is an
// empty node given o.Config as a reload gives a running one its new
// configuration (reconfigure.go). o.Config must be complete and valid, as
// config.Load returns it (its timings pass config.Config.CheckTimings,
// and it lists ThisNode among its nodes): New panics otherwise, since the
// core fills in no default.
func New(o Options) *Node {
	c := o.Config
	if err := checkConfig(c, c.ThisNode); err != nil {
		panic("cluster.New: " + err.Error())
	}
	n := &Node{
		name:    c.ThisNode,
		uuid:    o.UUID,
		gen:     o.Generation,
		created: o.Now,
		now:     o.Now,
		state:   StateInit,
		unknown: make(map[string]time.Time),

		checkSkips: o.CheckSkips,
	}
	n.standing.allowed = o.Standing
	n.initResources()
	n.touch() // the first tick reconciles
	n.loadSettings(c, o.Settings)
	n.apply(c)
	for _, p := range n.peers {
		p.genFloor = o.PeerGenerations[p.name]
	}
	return n
}

func hash32(parts ...string) uint32 {
	h := fnv.New32a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return h.Sum32()
}

// Step feeds one event to the node and returns what to do. The actions
// and the messages of their Sends are the caller's until it calls
// Recycle; the node never changes them, and keeps none of them (what it
// keeps of a sent message, for a retransmission, is a copy). The node
// keeps nothing of a received message either (Receive).
func (n *Node) Step(ev Event) []Action {
	n.beginStep()
	if n.stopped {
		return nil
	}
	if ev == nil {
		return nil
	}
	if f, ok := ev.(RoutineFlood); ok {
		// Only floors (flood.go): nothing is judged, nor does the node's
		// time move, before the messages the drain read, which arrived
		// before it, are stepped.
		if n.booted {
			n.routineFlood(maxTime(f.Now, n.now), f.Links)
			n.nextOK = false
		}
		return n.flush()
	}
	now := eventTime(ev)
	if t, ok := ev.(Tick); ok && t.Load != "" {
		n.load = t.Load[:min(len(t.Load), maxLoadLen)] // (the announcement's bound)
	}
	stalled := false
	if n.booted {
		if late := now.Sub(n.NextTick()); late > StallFactor*n.keepalive {
			stalled = true
			n.stallAt = now
			n.graceUntil = now.Add(StallGraceFactor * n.keepalive)
			n.logf(LevelWarn, "Our own loop ran %d ms late (stalled?): no node is declared dead before %d ms from now", late.Milliseconds(), (StallGraceFactor * n.slowestPeerInterval()).Milliseconds())
		}
	}
	if now.After(n.now) {
		n.now = now
	}
	if !n.booted {
		n.boot()
	}
	switch ev.(type) {
	case Tick, Receive, RoutineFlood:
		// What they change that reconcile reads says so itself (touch,
		// recheck): mostly nothing, at rest.
	default:
		n.touch()
	}
	switch e := ev.(type) {
	case Receive:
		if e.Msg != nil {
			n.receive(e)
		}
	case Stop:
		n.beginStop()
	case OpDone:
		n.opDone(e)
	case Command:
		n.command(e)
	case Reconfigure:
		n.reconfigure(e)
	case GroupFailure:
		n.groupFailed(e)
	case PingStatus:
		n.onPingStatus(e)
	case FenceDone:
		n.onFenceDone(e)
	}
	calm := false
	if !n.stopped {
		n.advance(stalled)
		n.sbAdvance()
		_, tick := ev.(Tick)
		_, recv := ev.(Receive)
		disturbed := n.res.dirty || n.res.stale
		n.reconcileAfter(tick)
		calm = (tick || recv) && !disturbed && !n.q.news && !stalled
		n.quietAfterStep(disturbed)
	}
	n.standingAfterStep(calm)
	n.nextOK = false
	return n.flush()
}

// eventTime is when ev happened. (A type switch rather than a call of
// ev's method: the event then stays on the caller's stack.)
func eventTime(ev Event) time.Time {
	switch e := ev.(type) {
	case Tick:
		return e.Now
	case Receive:
		return e.Now
	case Stop:
		return e.Now
	case OpDone:
		return e.Now
	case Command:
		return e.Now
	case Reconfigure:
		return e.Now
	case GroupFailure:
		return e.Now
	case PingStatus:
		return e.Now
	case RoutineFlood:
		return e.Now
	case FenceDone:
		return e.Now
	}
	panic("cluster: an event eventTime does not know")
}

func (n *Node) logf(l Level, format string, args ...any) {
	n.out = append(n.out, Log{Level: l, Msg: fmt.Sprintf(format, args...)})
}

// maxLoggedText is how much of a text a peer sent a log line quotes; the
// rest (up to a datagram's worth) is counted, not written.
const maxLoggedText = 256

// clipped is s as a log line quotes a peer's text: its first
// maxLoggedText bytes, and its length when it is longer.
func clipped(s string) string {
	if len(s) <= maxLoggedText {
		return s
	}
	return fmt.Sprintf("%s... (%d bytes)", s[:maxLoggedText], len(s))
}

// boot sends the first status messages, as Heartbeat does at start:
// st=init, then st=up (the periodic status follows at once).
func (n *Node) boot() {
	n.booted = true
	n.start = n.now
	n.nextStatus = n.now
	n.sendStatus()
	n.state = StateUp
	n.sendStatus()
	n.logf(LevelInfo, "Local status now set to: '%s'", StateUp)
	n.probeGroups()
}

func (n *Node) stop() {
	if n.setsDirty {
		n.persistSettings()
	}
	m := n.newMessage()
	m.Set(wire.FType, wire.TShutdone)
	m.Set(wire.FStatus, StateDead)
	n.sendMessage(m)
	n.state = StateDead
	n.stopped = true
}

// advance does what time asks for: status messages, timeouts, retransmit
// requests, the node list request (join.go).
func (n *Node) advance(stalled bool) {
	now := n.now
	if !n.bonusOver && !now.Before(n.start.Add(StartBonusFor)) {
		n.bonusOver = true
		n.sendStatus()
	}
	if !now.Before(n.nextStatus) {
		// Also while an order stands: a status due by now that the
		// order has not sent yet is this Step's (the order is then
		// given the next seq and time: standingAfterStep).
		n.sendStatus()
		n.nextStatus = n.nextStatus.Add(n.statusInterval())
		if !n.nextStatus.After(now) {
			n.nextStatus = now.Add(n.statusInterval())
		}
	}
	if !stalled {
		n.checkTimeouts()
	}
	n.requestRexmits()
	n.checkCommUp()
	n.askNodes()
}

// NextTick returns when the core next needs a Tick: the next status, the
// next deadline, the next retransmit request. Zero after Stop.
func (n *Node) NextTick() time.Time {
	if !n.nextOK {
		n.next, n.nextOK = n.nextTick(), true
	}
	return n.next
}

func (n *Node) nextTick() time.Time {
	if n.stopped {
		return time.Time{}
	}
	if !n.booted {
		return n.created
	}
	t := n.nextStatus
	if n.standing.on {
		// The order sends the statuses: no Tick for them. The peers'
		// routine messages are read at a Tick when they may matter
		// (routineDue: a quiet peer's next status), and at every
		// keepalive from then on until it is heard, as when the Ticks
		// of the statuses read them: at the order's sends, so that the
		// caller wakes once for both (and the peer's status, due at
		// about the time it arrives, has had time to come).
		t = n.onStatusGrid(maxTime(n.routineDue(), n.now.Add(time.Nanosecond)))
	}
	earliest := func(c time.Time) {
		if c.Before(t) {
			t = c
		}
	}
	deadline := func(p *peer, c time.Time) {
		if g := n.peerGrace(p); c.Before(g) {
			c = g
		}
		earliest(c)
	}
	if !n.bonusOver {
		earliest(n.start.Add(StartBonusFor))
	}
	for _, p := range n.peers {
		if p.state != StateDead || n.returnedDead(p) {
			deadline(p, n.peerDeadline(p))
		}
		dt := n.peerDeadtime(p)
		for _, l := range p.links {
			if l.state == LinkUp {
				deadline(p, p.linkDeadline(l, dt))
			}
		}
		for _, ms := range p.missing {
			earliest(ms.next)
		}
	}
	if n.commUp && !n.gotRepnodes {
		earliest(n.join.next)
	}
	if d := n.resourceDeadline(); !d.IsZero() {
		earliest(d)
	}
	if n.dtFloorUntil.After(n.now) {
		earliest(n.dtFloorUntil)
	}
	if n.dtCeilUntil.After(n.now) {
		earliest(n.dtCeilUntil)
		n.heldSilences(earliest)
	}
	if d := n.sbDeadline(); !d.IsZero() {
		earliest(d)
	}
	if n.setsDirty {
		earliest(n.setsSaveAt)
	}
	return t
}

// peerDeadline is when a peer not yet dead is declared dead: deadtime
// after it was last heard (scaled while it is quiet: peerDeadtime), or initdead after start for a peer not heard
// since start (or since it was declared dead). The deadtime is this
// node's own (all nodes are configured with the same one): the dt a peer
// announces is shown in status but not obeyed, since a Heartbeat peer
// announces deadtime+2 s for 5 s after its start (StartDeadtimeBonus),
// and obeying it is what makes Heartbeat declare a freshly restarted peer
// dead late.
func (n *Node) peerDeadline(p *peer) time.Time {
	if !p.heard {
		from := n.start
		if p.expectFrom.After(from) {
			from = p.expectFrom // added by a reload
		}
		return from.Add(n.initdead)
	}
	d := p.lastHeard.Add(n.peerDeadtime(p))
	if !p.quietNewsAt.IsZero() && p.quietEvery != 0 {
		// News went to the quiet peer: a live one wakes and answers with
		// its status within a deadtime and a keepalive, even when the news
		// was lost (it reads the gap at its next wake-up).
		edt := n.effectiveDeadtime()
		d = minTime(d, maxTime(p.quietNewsAt.Add(2*edt+n.keepalive), p.lastHeard.Add(edt)))
	}
	if !p.lastHeard.After(p.floodGrant) {
		d = maxTime(d, p.floodFloor) // (not heard since a flood's grant)
	}
	return maxTime(d, p.deadFloor)
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (n *Node) checkTimeouts() {
	now := n.now
	for _, p := range n.peers {
		if now.Before(n.peerDeadline(p)) || now.Before(n.peerGrace(p)) {
			continue
		}
		switch {
		case p.state != StateDead, n.returnedDead(p):
			n.markDead(p)
		case p.heard:
			// Heard again after its death, then fenced: it is off.
			p.heard = false
			n.touch()
		}
	}
	for _, p := range n.peers {
		if now.Before(n.peerGrace(p)) {
			continue
		}
		dt := n.peerDeadtime(p)
		for _, l := range p.links {
			if l.state == LinkUp && !now.Before(p.linkDeadline(l, dt)) {
				l.state = LinkDead
				n.touch()
				n.logf(LevelInfo, "Link %s:%s dead.", p.name, l.name)
			}
		}
	}
}

// returnedDead: p was declared dead and has been heard again since (a
// partition healed), but it stays dead until its next status. Silent for
// a deadtime again before one comes, it is dead again (checkTimeouts):
// it may hold groups it took meanwhile and runs them until it notices it
// is cut off, so this death waits or fences (peerDied, sbPeerDead) as the
// first did. Not when a fence of it succeeded since it was last heard: it
// is off.
func (n *Node) returnedDead(p *peer) bool {
	return p.state == StateDead && p.heard && !p.fencedAt.After(p.lastHeard)
}

// markDead declares a peer dead (silent for deadtime, or it announced a
// graceful shutdown). The resources learn of it through peerDied, which
// starts the takeover of its groups.
func (n *Node) markDead(p *peer) {
	n.touch()
	n.logf(LevelWarn, "node %s: is dead", p.name)
	p.deadGroupless = len(n.res.groups) == 0 && !p.rsc.gaveUp()
	n.sbPeerDead(p)
	n.keepLastWord(p)
	n.peerDied(p)
	n.setPeerState(p, StateDead)
	p.heard = false
	if p.lastSeq > p.deadSeq {
		p.deadSeq = p.lastSeq
	}
	p.lastSeq = 0
	p.missing = nil
	p.acked = 0
	p.deadGen = p.gen
	p.quietEvery, p.quietDT, p.quietNewsAt, p.deadFloor, p.floodFloor, p.floodGrant = 0, 0, time.Time{}, time.Time{}, time.Time{}, time.Time{}
	for _, l := range p.links {
		l.floodFloor, l.floodAt = time.Time{}, time.Time{}
	}
}

func (n *Node) peerByName(name string) *peer { return findPeer(n, name) }

// peerNamed is peerByName of a name read in place from a message.
func (n *Node) peerNamed(name []byte) *peer { return findPeer(n, name) }

func findPeer[T ~string | ~[]byte](n *Node, name T) *peer {
	for _, p := range n.peers {
		if p.name == string(name) {
			return p
		}
	}
	return nil
}
