package cluster

import (
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// The standing status order. A node at rest sends the same status every
// keepalive, with only its seq, ts and ld new (a routine status). Rather
// than be stepped for each, a node whose caller can execute it
// (Options.Standing) orders it once: StandingStatus says "send this
// status every Every from Next, seq rising from Seq, until told
// otherwise", and the caller's sender (Standing) stamps and sends it
// without stepping the node. The node is then stepped only for a
// message, a deadline of its own (a peer's, a retransmission's, a
// group's), a command or an operation's end. Before each Step the
// caller hands the node what the order sent since the last one (Sent),
// so that the node's seq, its history of sent messages (which answers
// retransmission requests) and its next status time are those of one
// gap-free stream, whichever of the two sent each message.
//
// The order stands only while the status is routine and the Steps calm
// (standingAfterStep): the same fields as the last status sent, every
// peer alive on every link as then, the node not stopping nor going or
// being quiet, and the Step an event that changes nothing (a Tick, a
// Receive) that sent nothing but routine messages and asked for nothing
// but sends and log lines. Any other Step cancels it (StandingStatus
// with a nil Msg), first among that Step's actions; the node sends its
// statuses itself again from the next one due, as without the order.

// StandingStatus is the order (Msg set) or its end (Msg nil). It comes
// first among a Step's actions. An order replaces the one before it.
type StandingStatus struct {
	// Msg is the status, complete but for its signature; each send
	// stamps seq, ts and ld in a copy (Standing.Fire). The caller copies
	// it (Standing.Apply): it is the node's again after Recycle.
	Msg *wire.Message
	// Seq is the seq of the next send; Next when it is due; Every the
	// time from one send to the next.
	Seq   uint64
	Next  time.Time
	Every time.Duration
}

func (*StandingStatus) isAction() {}

// standingSent is one message the order sent: its seq, when, and the ld
// it carried.
type standingSent struct {
	seq uint64
	at  time.Time
	ld  string
}

// Standing executes StandingStatus: the caller keeps one per node and
// gives it every StandingStatus the node emits (Apply), sends what Fire
// returns when Due says, and hands it to the node before each Step
// (Node.Sent). It is not safe for concurrent use: the caller runs Fire
// and the node's Steps under one lock, never at once.
type Standing struct {
	on    bool
	tmpl  wire.Message // the order's status
	out   wire.Message // the message of the last Fire
	seq   uint64       // the seq of the next send
	next  time.Time
	every time.Duration
	hasLD bool
	ld    string // the last ld sent
	// log is what Fire sent since the last Node.Sent, a ring of the
	// newest HistorySize (older ones would have left the node's history
	// anyway): n entries ending at end.
	log [HistorySize]standingSent
	end int
	n   int
}

// Apply takes the node's order (a copy of its message) or its end.
func (s *Standing) Apply(o *StandingStatus) {
	if o.Msg == nil {
		s.on = false
		return
	}
	s.on = true
	s.tmpl.Copy(o.Msg)
	s.seq, s.next, s.every = o.Seq, o.Next, o.Every
	_, s.hasLD = s.tmpl.Bytes(wire.FLoad)
}

// Stop ends the order whatever the node says (the caller's loop ends).
func (s *Standing) Stop() { s.on = false }

// Due is when the next send is due; false when no order stands.
func (s *Standing) Due() (time.Time, bool) { return s.next, s.on }

// Fire stamps the order's status for a send at now with its seq, ts and
// ld (load, as Tick.Load: "" keeps the last one) and returns it, valid
// until the next Fire; the next send is due Every after the one due
// now, or Every after now when that has passed already. The caller
// calls it only while an order stands, at or after Due.
func (s *Standing) Fire(now time.Time, load string) *wire.Message {
	if load != "" {
		s.ld = load[:min(len(load), maxLoadLen)]
	}
	m := &s.out
	m.Copy(&s.tmpl)
	m.SetHex(wire.FSeq, s.seq)
	m.SetHex(wire.FTimestamp, unixSeconds(now))
	if s.hasLD && s.ld != "" {
		m.Set(wire.FLoad, s.ld)
	}
	s.end = (s.end + 1) % len(s.log)
	s.log[s.end] = standingSent{seq: s.seq, at: now, ld: s.ld}
	s.n = min(s.n+1, len(s.log))
	s.seq++
	s.next = s.next.Add(s.every)
	if !s.next.After(now) {
		s.next = now.Add(s.every)
	}
	return m
}

// standingState is the node's side of the order.
type standingState struct {
	allowed bool // Options.Standing
	on      bool
	// msg is the order's status as sent (its seq the next one's);
	// nextSeq is the seq the caller's sender uses next, as the node
	// last knew it.
	msg     wire.Message
	nextSeq uint64
	next    time.Time
	act     StandingStatus
	scratch wire.Message // the status as it would be now (statusNow)
}

// Sent takes what the order sent since the last call: the node's seq,
// its history of sent messages, its ld and its next status time follow
// them. The caller calls it before every Step while an order of the node
// may have sent something (with a Standing that never had one it does
// nothing).
func (n *Node) Sent(s *Standing) {
	if s.n == 0 {
		return
	}
	st := &n.standing
	first := (s.end - s.n + 1 + len(s.log)) % len(s.log)
	for k := 0; k < s.n; k++ {
		e := &s.log[(first+k)%len(s.log)]
		m := n.historySlot(e.seq)
		m.Copy(&st.msg)
		m.SetHex(wire.FSeq, e.seq)
		m.SetHex(wire.FTimestamp, unixSeconds(e.at))
		if e.ld != "" {
			// An unread load keeps the last one, as a Tick's does.
			n.load = e.ld
			if _, ok := m.Bytes(wire.FLoad); ok {
				m.Set(wire.FLoad, e.ld)
			}
		}
		n.q.lastStatusAt = e.at
	}
	n.seq = s.seq - 1
	st.nextSeq, st.next = s.seq, s.next
	n.nextStatus = s.next
	s.n = 0
	n.nextOK = false
}

// statusNow builds in m the status this node would send now: its own
// fields (sendStatus), without the common ones.
func (n *Node) statusNow(m *wire.Message) {
	m.Reset()
	n.statusFields(m)
}

// standingAfterStep orders, keeps, replaces or cancels the standing
// status at the end of a Step (the comment at the top of this file).
// calm: the Step was a Tick or a Receive that changed nothing reconcile
// reads and sent nothing but routine messages.
func (n *Node) standingAfterStep(calm bool) {
	st := &n.standing
	if !st.allowed {
		return
	}
	want := calm && n.booted && !n.stopped && !n.res.stopping && n.bonusOver && n.lastStatusOK &&
		n.load != "" && n.q.phase == quietOff && !n.quietCheap() && n.nextStatus.After(n.now) &&
		!n.actedBeyondSends()
	// Only beside peers that are all quiet (routineDue): a peer that
	// sends every keepalive has its routine messages read at every
	// keepalive, at the Ticks of this node's statuses, whose gaps must
	// be asked for in time; there the order would save nothing.
	want = want && !n.routineDue().IsZero()
	if want {
		heard, view := n.peersView()
		want = heard && view == n.lastStatusView
	}
	if want {
		n.statusNow(&st.scratch)
		want = sameFields(st.scratch.Fields, n.lastStatus.Fields)
	}
	switch {
	case !want && st.on:
		st.on = false
		st.act = StandingStatus{}
		n.emitFirst(&st.act)
	case want && (!st.on || st.nextSeq != n.seq+1 || !st.next.Equal(n.nextStatus)):
		st.on = true
		st.nextSeq, st.next = n.seq+1, n.nextStatus
		m := &st.msg
		m.Copy(&n.lastStatus)
		n.putCommon(m, st.nextSeq, true)
		st.act = StandingStatus{Msg: m, Seq: st.nextSeq, Next: n.nextStatus, Every: n.statusInterval()}
		n.emitFirst(&st.act)
	}
}

// onStatusGrid is the first time at or after t at which a status is due
// (nextStatus, then every status interval).
func (n *Node) onStatusGrid(t time.Time) time.Time {
	if !t.After(n.nextStatus) {
		return n.nextStatus
	}
	every := n.statusInterval()
	k := (t.Sub(n.nextStatus) + every - 1) / every
	return n.nextStatus.Add(k * every)
}

// emitFirst puts a among this Step's actions, first: the caller's sender
// must know of a cancelled or replaced order before it sends anything
// else of this Step.
func (n *Node) emitFirst(a Action) {
	n.out = append(n.out, nil)
	copy(n.out[1:], n.out)
	n.out[0] = a
}

// Standing says whether a standing status order stands (the node's
// side).
func (n *Node) Standing() bool { return n.standing.on }
