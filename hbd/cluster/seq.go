package cluster

import (
	"sort"
	"strconv"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// missingSeq is a seq of a peer that has not arrived (a gap before its
// last seq), and when to ask for it.
type missingSeq struct {
	seq  uint64
	next time.Time // when to ask for it (again)
	asks int       // how many times it was asked for
}

// seqVerdict is what track makes of a message's seq.
type seqVerdict int

const (
	seqAccept seqVerdict = iota
	seqDuplicate
	seqReplay
)

// track is Heartbeat's sequence bookkeeping (should_drop_message).
func (n *Node) track(p *peer, seq uint64, linkName string) seqVerdict {
	switch {
	case p.lastSeq == 0 || seq == p.lastSeq+1:
		if p.lastSeq == 0 {
			p.firstSeq, p.early = seq, 0
		}
		p.lastSeq = seq
		p.lastLink = linkName
		if len(p.missing) == 0 || seq <= p.missing[0].seq {
			n.ackIfDue(p, seq)
		}
		return seqAccept
	case seq == p.lastSeq:
		return seqDuplicate
	case seq > p.lastSeq:
		nlost := seq - p.lastSeq - 1
		n.touch() // canStart waits for the missing messages (missingAfter)
		n.logf(LevelWarn, "%d lost packet(s) for [%s] [%d:%d]", nlost, p.name, p.lastSeq, seq)
		p.lost += nlost
		if nlost > SeqGap {
			p.missing = nil
			n.logf(LevelError, "lost a lot of packets!")
		} else {
			for k := p.lastSeq + 1; k < seq; k++ {
				if len(p.missing) == MaxMissing {
					p.missing = p.missing[1:]
				}
				p.missing = append(p.missing, missingSeq{seq: k, next: n.now.Add(n.rexmitDelay(p, k))})
			}
		}
		p.lastSeq = seq
		p.lastLink = linkName
		return seqAccept
	}
	if n.foundMissing(p, seq) {
		p.recovered++
		return seqAccept
	}
	if seq < p.firstSeq && p.firstSeq-seq <= EarlyWindow {
		if bit := uint64(1) << (p.firstSeq - seq - 1); p.early&bit == 0 {
			p.early |= bit
			return seqAccept
		}
	}
	return seqReplay
}

// rexmitDelay spreads the first request for a missing seq over
// RexmitInterval, as Heartbeat's random delay does, but derived from the
// names and the seq so the core stays deterministic.
func (n *Node) rexmitDelay(p *peer, seq uint64) time.Duration {
	h := hash32(n.name, p.name, strconv.FormatUint(seq, 10))
	return time.Duration(h%uint32(RexmitInterval/time.Millisecond)) * time.Millisecond
}

// foundMissing takes seq off the missing list (removeMissing) and, when
// it was the first gap, acknowledges up to the new first one.
func (n *Node) foundMissing(p *peer, seq uint64) bool {
	wasFirst := len(p.missing) > 0 && p.missing[0].seq == seq
	if !n.removeMissing(p, seq) {
		return false
	}
	if wasFirst {
		upTo := p.lastSeq
		if len(p.missing) > 0 {
			upTo = p.missing[0].seq - 1
		}
		// The highest seq <= upTo that is due for an ack.
		x := upTo % AckEvery
		var ack uint64
		if x >= p.ackTrigger {
			ack = upTo - x + p.ackTrigger
		} else if upTo >= AckEvery {
			ack = upTo - x - AckEvery + p.ackTrigger
		}
		if ack >= seq {
			n.sendAck(p, ack)
		}
	}
	return true
}

func (n *Node) ackIfDue(p *peer, seq uint64) {
	if seq%AckEvery == p.ackTrigger {
		n.sendAck(p, seq)
	}
}

func (n *Node) sendAck(p *peer, seq uint64) {
	m := n.newMessage()
	m.Set(wire.FType, wire.TAck)
	m.Set(wire.FDest, p.name)
	m.SetHex(wire.FAckSeq, seq)
	n.sendNS(m, true)
}

func (n *Node) onAck(p *peer, m *wire.Message) {
	a, err := m.HexValue(wire.FAckSeq)
	if err != nil {
		n.drop(p, DropMalformed, LevelError, "NS_ackmsg with a bad ackseq from "+p.name)
		return
	}
	if a > n.seq {
		n.nsLogf(p, LevelError, "HBDoMsg_T_ACK: corrupted ackseq current hiseq = %d ackseq =%d in this message", n.seq, a)
		return
	}
	if a > p.acked {
		p.acked = a
		n.heardBy(p)
	}
}

// requestRexmits asks peers again for the seqs still missing
// (Heartbeat: one NS_rexmit per seq, every max_rexmit_delay).
func (n *Node) requestRexmits() {
	for _, p := range n.peers {
		for i := range p.missing {
			ms := &p.missing[i]
			if n.now.Before(ms.next) {
				continue
			}
			ms.next = n.now.Add(RexmitInterval)
			ms.asks++
			if ms.asks >= RexmitPatience && n.overdueAnnouncement(p) {
				n.recheck() // ask it to announce again (toAsk, mustAsk)
			}
			m := n.newMessage()
			m.Set(wire.FType, wire.TRexmit)
			m.Set(wire.FDest, p.name)
			m.Set(wire.FFirstSeq, strconv.FormatUint(ms.seq, 10))
			m.Set(wire.FLastSeq, strconv.FormatUint(ms.seq, 10))
			n.sendNS(m, false)
		}
	}
}

// overdueAnnouncement: p is an hbd peer and a seq it sent after its
// latest announcement we have has been asked for RexmitPatience times in
// vain. Every start here waits for that seq (missingAfter), which may be
// lost for good: only p's history of HistorySize messages moving past it
// would end the wait (its NAK), some HistorySize keepalives later. p is
// asked to announce again instead (hbd_ask, toAsk): an announcement newer
// than the missing seq says all that seq could have said of p's groups
// (doc.go, "A message lost for good"). A Heartbeat peer ignores hbd_ask:
// starts wait for the seq or its NAK.
func (n *Node) overdueAnnouncement(p *peer) bool {
	r := &p.rsc
	if !r.hbd || !r.announced {
		return false
	}
	for i := len(p.missing) - 1; i >= 0 && p.missing[i].seq > r.seq; i-- {
		if p.missing[i].asks >= RexmitPatience {
			return true
		}
	}
	return false
}

// onRexmit resends what a peer asks for (Heartbeat's process_rexmit):
// firstseq and lastseq are decimal; a seq we no longer have is answered
// with NS_nak_rexmit.
func (n *Node) onRexmit(p *peer, m *wire.Message) {
	n.q.news = true // the peer misses our messages: a quiet node wakes
	first, err1 := strconv.ParseUint(m.Value(wire.FFirstSeq), 10, 64)
	last, err2 := strconv.ParseUint(m.Value(wire.FLastSeq), 10, 64)
	if err1 != nil || err2 != nil || first == 0 || first > last {
		n.drop(p, DropMalformed, LevelError, "Invalid rexmit seqnos from "+p.name)
		return
	}
	for s, done := first, 0; s <= last && done < MaxRexmitBatch; s, done = s+1, done+1 {
		if s <= p.acked {
			continue
		}
		if s > n.seq {
			n.nsLogf(p, LevelWarn, "Rexmit of seq %d requested. %d is max.", s, n.seq)
			continue
		}
		e, tooOld := n.sent(s)
		if tooOld {
			n.nak(p, s, "seqno too low")
			continue
		}
		if e == nil {
			n.nak(p, s, "seqno not found")
			continue
		}
		if !e.lastResend.IsZero() && n.now.Sub(e.lastResend) < RexmitGuard {
			continue
		}
		e.lastResend = n.now
		m := n.newMessage()
		m.Copy(e.msg) // the ring may reuse e's storage in this Step
		n.emit(m, false)
	}
}

func (n *Node) nak(p *peer, seq uint64, reason string) {
	n.nsLogf(p, LevelError, "Cannot rexmit pkt %d for %s: %s", seq, p.name, reason)
	m := n.newMessage()
	m.Set(wire.FType, wire.TNakRexmit)
	m.Set(wire.FFirstSeq, wire.Hex(seq))
	m.Set(wire.FDest, p.name)
	m.Set(wire.FInfo, reason)
	n.sendNS(m, false)
}

func (n *Node) onNak(p *peer, m *wire.Message) {
	s, err := wire.ParseHex(m.Value(wire.FFirstSeq))
	if err != nil || s == 0 {
		n.drop(p, DropMalformed, LevelError, "should_drop_message: bad nak seq number from "+p.name)
		return
	}
	n.nsLogf(p, LevelError, "Irretrievably lost packet: node %s seq %d", p.name, s)
	n.removeMissing(p, s)
}

// removeMissing takes seq off p's missing list, if it is there; it logs
// "No pkts missing" when that empties the list.
func (n *Node) removeMissing(p *peer, seq uint64) bool {
	i := sort.Search(len(p.missing), func(i int) bool { return p.missing[i].seq >= seq })
	if i == len(p.missing) || p.missing[i].seq != seq {
		return false
	}
	p.missing = append(p.missing[:i], p.missing[i+1:]...)
	n.recheck() // canStart waits for the missing messages (missingAfter)
	if len(p.missing) == 0 {
		n.logf(LevelInfo, "No pkts missing from %s!", p.name)
	}
	return true
}
