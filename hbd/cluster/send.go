package cluster

import (
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// What a node sends: the outbox its messages are built in (reused after
// Recycle), the fields every message carries, and the history of sent
// messages that retransmission requests are answered from.

// histEntry is a sent message kept for retransmission (sendMessage,
// sent).
type histEntry struct {
	seq        uint64
	msg        *wire.Message // a copy, in storage of its own (keep)
	lastResend time.Time
}

// outbox holds the messages the node sends and their Send actions. Once
// the caller has said that it keeps none of them (Recycle), the next Step
// builds its messages in the same slots, and its actions in the same
// slice, instead of allocating them again.
type outbox struct {
	slots []*outSlot
	used  int
	// recycled: the caller keeps nothing of the last Step's actions.
	recycled bool
}

type outSlot struct {
	send Send
	msg  wire.Message
}

// Recycle says that the caller has done what the last Step returned and
// keeps none of its actions, nor their messages: the next Step reuses
// their storage, so a node in its steady state allocates nothing for
// what it sends. A caller that keeps a message past Recycle copies it
// first (wire.Message.Clone). Without Recycle every Step's actions and
// messages are new.
func (n *Node) Recycle() { n.box.recycled = true }

// beginStep readies the action list and the outbox for a Step: reused
// after Recycle, new otherwise (the caller may still hold the old ones).
func (n *Node) beginStep() {
	if n.box.recycled {
		clear(n.out) // drops what the old actions referred to
		n.out = n.out[:0]
	} else {
		n.out = nil
		n.box.slots = nil
	}
	n.box.used = 0
	n.box.recycled = false
}

func (n *Node) flush() []Action { return n.out }

// newMessage returns an empty message to send in this Step, built in
// the outbox.
func (n *Node) newMessage() *wire.Message {
	b := &n.box
	if b.used == len(b.slots) {
		b.slots = append(b.slots, &outSlot{})
	}
	sl := b.slots[b.used]
	b.used++
	sl.msg.Reset()
	return &sl.msg
}

// emit asks the daemon to send m, a message of newMessage, on every link;
// routine as Send.Routine says.
func (n *Node) emit(m *wire.Message, routine bool) {
	if !routine && !n.q.exempt {
		n.q.news = true // (quiet.go)
		n.quietNews(m)
	}
	for i := n.box.used - 1; i >= 0; i-- { // m is most often the newest
		if sl := n.box.slots[i]; &sl.msg == m {
			sl.send = Send{Msg: m, Routine: routine}
			n.out = append(n.out, &sl.send)
			return
		}
	}
	panic("cluster: emit of a message not built by newMessage")
}

func (n *Node) sendStatus() {
	m := n.newMessage()
	n.statusFields(m)
	routine, calm := n.statusRoutine(m)
	n.q.exempt = calm && !routine
	n.sendSeq(m, routine)
	n.q.exempt = false
	n.q.lastStatusAt = n.now
}

// statusFields sets a status's own fields in m (those before the common
// ones of appendCommon).
func (n *Node) statusFields(m *wire.Message) {
	dt := n.deadtime
	if !n.bonusOver {
		dt += StartDeadtimeBonus
	}
	m.Set(wire.FType, wire.TStatus)
	m.Set(wire.FStatus, n.state)
	m.SetMillis(wire.FDeadtime, dt)
	m.Set(wire.FProtocol, "1")
	if td := n.effectiveDeadtime(); td > n.deadtime || td != dt && n.quorumOn() {
		// The deadtime this node applies where dt says otherwise: a
		// reload's longer old one and, with quorum, the plain one while
		// dt carries the start bonus (Heartbeat's figure). Peers size
		// their quorum wait by it (cutOffWait).
		m.SetMillis(wire.FHbdDeadtime, td)
	}
	n.sbStatusFields(m)
	n.quietStatusField(m)
}

// statusRoutine tells whether the status m (its own fields, before the
// common ones) is routine (Send.Routine): the same fields as the last
// status sent, while every peer is alive and every link of every peer up
// in this node's view, as they were when the last status was sent, each
// peer of the same generation. A peer this node does not hear, or hears on
// fewer links, may not hear this node either (a partition healing), and a
// peer just heard again or restarted may not have heard this node yet:
// the status that tells it must be read at once, not at its next wake-up.
// It keeps m's fields and the peers' view for the next status. calm
// says whether it would be routine but for hbd_quiet and dt (quiet.go:
// going quiet, or quiet with another interval, is no news that wakes it;
// nor is the end of the start bonus, the only change of dt that no
// reload brings, and a reload wakes it anyway; with quorum, which keeps
// every node from going quiet, the bonus's end also drops hbd_dt).
func (n *Node) statusRoutine(m *wire.Message) (routine, calm bool) {
	heard, view := n.peersView()
	calm = n.lastStatusOK && heard && view == n.lastStatusView
	routine = calm && sameFields(m.Fields, n.lastStatus.Fields)
	calm = routine || calm && sameFieldsBut(m.Fields, n.lastStatus.Fields, wire.FHbdQuiet, wire.FDeadtime)
	n.lastStatus.Copy(m)
	n.lastStatusOK, n.lastStatusView = true, view
	return routine, calm
}

// peersView says whether every peer is alive (neither dead nor never
// heard) with every link up, and sums up what can change of it without
// changing that (a peer's generation, its alive state, its links) in
// view: a different view since the last status means news for a peer.
func (n *Node) peersView() (heard bool, view uint64) {
	heard = true
	h := uint64(14695981039346656037) // FNV-64a
	mix := func(s string) {
		for i := 0; i < len(s); i++ {
			h = (h ^ uint64(s[i])) * 1099511628211
		}
		h = (h ^ 0xff) * 1099511628211
	}
	for _, p := range n.peers {
		if p.state == "" || p.state == StateDead {
			heard = false
		}
		mix(p.state)
		h = (h ^ p.gen) * 1099511628211
		for _, l := range p.links {
			if l.state != LinkUp {
				heard = false
			}
			mix(l.name)
			mix(l.state)
		}
	}
	return heard, h
}

// sameFields compares two field lists, names, types, values and order.
func sameFields(a, b []wire.Field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Type != b[i].Type || string(a[i].Value) != string(b[i].Value) {
			return false
		}
	}
	return true
}

// sameFieldsBut is sameFields of a and b without their fields named
// name or name2.
func sameFieldsBut(a, b []wire.Field, name, name2 string) bool {
	i, j := 0, 0
	for {
		for i < len(a) && (a[i].Name == name || a[i].Name == name2) {
			i++
		}
		for j < len(b) && (b[j].Name == name || b[j].Name == name2) {
			j++
		}
		if i == len(a) || j == len(b) {
			return i == len(a) && j == len(b)
		}
		if a[i].Name != b[j].Name || a[i].Type != b[j].Type || string(a[i].Value) != string(b[j].Value) {
			return false
		}
		i, j = i+1, j+1
	}
}

// appendCommon adds the fields Heartbeat adds to every message, in its
// order: destuuid (when dest is set and its uuid known), src, srcuuid,
// seq, hg, ts, ld, ttl. NS_ messages have no seq and no ld.
func (n *Node) appendCommon(m *wire.Message, withSeq bool) {
	if withSeq {
		n.seq++
	}
	n.putCommon(m, n.seq, withSeq)
}

// putCommon is appendCommon with the seq given (withSeq) rather than the
// next one taken.
func (n *Node) putCommon(m *wire.Message, seq uint64, withSeq bool) {
	if dest, ok := m.Bytes(wire.FDest); ok {
		if p := n.peerNamed(dest); p != nil && p.uuidKnown {
			m.SetBinary(wire.FDestUUID, p.uuid[:])
		}
	}
	m.Set(wire.FSrc, n.name)
	m.SetBinary(wire.FSrcUUID, n.uuid[:])
	if withSeq {
		m.SetHex(wire.FSeq, seq)
	}
	m.SetHex(wire.FGeneration, n.gen)
	m.SetHex(wire.FTimestamp, unixSeconds(n.now))
	if withSeq && n.load != "" {
		m.Set(wire.FLoad, n.load)
	}
	m.SetDecimal(wire.FTTL, n.ttl)
}

// sendMessage gives a message its seq and common fields, keeps it for
// retransmission and sends it on every link. Every message with a seq
// (status and every control message) goes through here, or through
// sendSeq.
func (n *Node) sendMessage(m *wire.Message) { n.sendSeq(m, false) }

// sendSeq is sendMessage with Send.Routine given: only a status may be
// routine (statusRoutine).
func (n *Node) sendSeq(m *wire.Message, routine bool) {
	n.appendCommon(m, true)
	n.keepAndEmit(m, routine)
}

// sendFitting is sendMessage for a message that may be too long for one
// datagram (an announcement: its lists grow with the groups, its
// hbd_settings with the operator's settings). m, signed with the longest
// signature any key makes (wire.SignedLen), is sent when it fits
// wire.MaxDatagram; otherwise nothing is sent or kept and its seq is
// given back, so that peers see no gap for a message that never left.
// It returns m's signed length and whether it was sent.
func (n *Node) sendFitting(m *wire.Message) (int, bool) {
	n.appendCommon(m, true)
	size := wire.SignedLen(m)
	if size > wire.MaxDatagram {
		n.seq--
		return size, false
	}
	n.keepAndEmit(m, false)
	return size, true
}

// keepAndEmit keeps m, which has its seq and common fields, for
// retransmission and sends it on every link.
func (n *Node) keepAndEmit(m *wire.Message, routine bool) {
	n.historySlot(n.seq).Copy(m)
	n.emit(m, routine)
}

// historySlot makes room in the history for the message of seq, the
// next one after the newest kept, and returns its storage: the oldest
// entry's once the history is full (a full history allocates nothing
// more).
func (n *Node) historySlot(seq uint64) *wire.Message {
	var e *histEntry
	if len(n.hist) < HistorySize {
		n.hist = append(n.hist, histEntry{})
		e = &n.hist[len(n.hist)-1]
	} else {
		e = &n.hist[n.histOld] // the oldest makes room, its buffers reused
		n.histOld = (n.histOld + 1) % len(n.hist)
	}
	if e.msg == nil {
		e.msg = &wire.Message{}
	}
	*e = histEntry{seq: seq, msg: e.msg}
	return e.msg
}

// sent is the history's entry of seq; nil and whether seq is older than
// the history when it is not kept.
func (n *Node) sent(seq uint64) (e *histEntry, tooOld bool) {
	if len(n.hist) == 0 {
		return nil, true
	}
	oldest := n.hist[n.histOld].seq
	if seq < oldest {
		return nil, true
	}
	if seq-oldest >= uint64(len(n.hist)) {
		return nil, false
	}
	e = &n.hist[(n.histOld+int(seq-oldest))%len(n.hist)]
	if e.seq != seq {
		return nil, false
	}
	return e, false
}

// sendNS sends a protocol message that has no seq (NS_ackmsg, NS_rexmit,
// NS_nak_rexmit); routine as Send.Routine says (an acknowledgement only
// trims the receiver's history of sent messages: it can wait).
func (n *Node) sendNS(m *wire.Message, routine bool) {
	n.appendCommon(m, false)
	n.emit(m, routine)
}

// unixSeconds is t as the ts field counts it: epoch seconds, 0 before
// 1970 (wire.UnixHex).
func unixSeconds(t time.Time) uint64 {
	return uint64(max(t.Unix(), 0))
}
