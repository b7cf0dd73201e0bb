package cluster

import (
	"bytes"
	"strconv"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// The quorum lease: what lets the majority take a dead node's groups
// without waiting two deadtimes (doc.go, "Quorum").
//
// With quorum on, every status carries hbd_lease (the sender's deadtime
// and the wait it keeps after a lease clears, both in ms) and hbd_ack:
// for every peer it hears, the newest seq of that peer it has accepted
// (NODE:GEN:SEQ, hex), and for every peer it declared dead NODE:-.
//
// The holder's side. An ack of our seq S from M means M heard us at or
// after the time we sent S, so M declares us dead no sooner than that
// time plus its deadtime (rates of clocks may differ a little, offsets do
// not matter: only our own clock is read). A takeover of our groups by
// the lease needs a majority of the ha.cf nodes other than us that all
// declared us dead, and then waits its wait: no such majority exists
// before the q-th earliest of those times (q a majority of the ha.cf
// nodes) plus the shortest wait. This node starts nothing from that
// q-th time on and stops what it runs half a wait after it: a start and a
// stop must each end within half the wait (one deadtime today: the
// scripts' bound quorum always assumed).
//
// The taker's side (leaseEnd). After the death of a peer that kept the
// lease, a start no longer waits two deadtimes once every live peer's
// latest status says it declared that peer dead too (all of them keeping
// the lease): it waits the lease's wait (its own or the dead node's, the
// longer) after the latest of those declarations (as this node learned
// them) and its own. Any other case
// (a Heartbeat peer, an hbd without the lease, a peer declared dead at
// initdead, one heard again) keeps the two deadtimes.

// LeaseRateDivisor: a peer's deadtime counts as 1/LeaseRateDivisor
// shorter than it says, for clocks that run at slightly different rates
// (well under 0.1 % apart on any machine that keeps time).
const LeaseRateDivisor = 1000

// peerView is what a peer's latest status says of another node.
type peerView struct {
	name      string
	listed    bool
	dead      bool      // it declared that node dead
	deadSince time.Time // the arrival of its first status saying so
}

func (p *peer) viewOf(name string) *peerView {
	for i := range p.views {
		if p.views[i].name == name {
			return &p.views[i]
		}
	}
	return nil
}

// leaseOn: this node keeps the lease and sends its fields (quorum on).
func (n *Node) leaseOn() bool { return n.quorumOn() }

// quorumWaitOf is the wait after a lease clears that c asks for:
// quorum_wait, or deadtime.
func quorumWaitOf(c *config.Config) time.Duration {
	if c.QuorumWait > 0 {
		return c.QuorumWait
	}
	return c.Deadtime
}

// leaseWait is how long this node waits after a lease clears (leaseEnd):
// the wait it announces, or a longer one a reload shortened, for as long
// as a holder may still count on it (leaseReload).
func (n *Node) leaseWait() time.Duration {
	w := quorumWaitOf(n.cfg)
	if n.waitFloor > w && n.now.Before(n.waitFloorUntil) {
		w = n.waitFloor
	}
	return w
}

// leaseReload keeps a wait that a reload shortened: a holder that has not
// heard a status of the new configuration yet counts on the old wait
// after the time its latest ack vouches for plus this node's deadtime (old
// or new), so the old wait stays in force that long.
func (n *Node) leaseReload(old *config.Config) {
	oldW, newW := quorumWaitOf(old), quorumWaitOf(n.cfg)
	if newW >= oldW {
		return
	}
	if n.now.Before(n.waitFloorUntil) {
		oldW = max(oldW, n.waitFloor)
	}
	n.waitFloor = oldW
	n.waitFloorUntil = n.now.Add(max(old.Deadtime, n.cfg.Deadtime) + oldW)
}

// leaseStatusFields adds hbd_lease and hbd_ack to a status.
func (n *Node) leaseStatusFields(m *wire.Message) {
	if !n.leaseOn() {
		return
	}
	b := strconv.AppendUint(n.leaseBuf[:0], uint64(n.deadtime/time.Millisecond), 16)
	b = append(b, ':')
	b = strconv.AppendUint(b, uint64(quorumWaitOf(n.cfg)/time.Millisecond), 16)
	m.SetBytes(wire.FHbdLease, b)
	b = b[:0]
	for _, p := range n.peers {
		switch {
		case p.heard && p.lastSeq > 0:
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, p.name...)
			b = append(b, ':')
			b = strconv.AppendUint(b, p.gen, 16)
			b = append(b, ':')
			b = strconv.AppendUint(b, p.lastSeq, 16)
		case p.state == StateDead && !p.heard:
			if len(b) > 0 {
				b = append(b, '|')
			}
			b = append(b, p.name...)
			b = append(b, ":-"...)
		}
	}
	if len(b) > 0 {
		m.SetBytes(wire.FHbdAck, b)
	}
	n.leaseBuf = b
}

// leaseOnStatus reads a peer's lease fields from its status (the newest
// of its statuses: older ones arriving late are ignored before).
func (n *Node) leaseOnStatus(p *peer, at time.Time, m *wire.Message) {
	p.leaseKnown = true
	lb, ok := m.Bytes(wire.FHbdLease)
	dtB, wB, ok2 := bytes.Cut(lb, []byte{':'})
	var dt, w time.Duration
	var err1, err2 error
	if ok && ok2 {
		dt, err1 = wire.ParseMillisBytes(dtB)
		w, err2 = wire.ParseMillisBytes(wB)
	}
	if !ok || !ok2 || err1 != nil || err2 != nil || dt <= 0 {
		p.lease = false
		p.views = p.views[:0]
		return
	}
	p.lease, p.leaseDT, p.leaseWait = true, dt, w
	for i := range p.views {
		p.views[i].listed = false
	}
	ab, _ := m.Bytes(wire.FHbdAck)
	for len(ab) > 0 {
		var e []byte
		e, ab, _ = bytes.Cut(ab, []byte{'|'})
		name, rest, _ := bytes.Cut(e, []byte{':'})
		dead := len(rest) == 1 && rest[0] == '-'
		if string(name) == n.name {
			if !dead {
				n.leaseAck(p, rest)
			}
			continue
		}
		o := n.peerNamed(name)
		if o == nil || o == p {
			continue
		}
		v := p.viewOf(o.name)
		if v == nil {
			p.views = append(p.views, peerView{name: o.name})
			v = &p.views[len(p.views)-1]
		}
		v.listed = true
		if dead && !v.dead {
			v.deadSince = at
		}
		v.dead = dead
	}
	for i := range p.views {
		if !p.views[i].listed {
			p.views[i].dead = false
		}
	}
}

// leaseAck takes GEN:SEQ, a peer's ack of our seq: the newest one of this
// run that the history still holds moves the time it vouches for.
func (n *Node) leaseAck(p *peer, genSeq []byte) {
	genB, seqB, ok := bytes.Cut(genSeq, []byte{':'})
	if !ok {
		return
	}
	gen, err1 := wire.ParseHexBytes(genB)
	seq, err2 := wire.ParseHexBytes(seqB)
	if err1 != nil || err2 != nil || gen != n.gen || seq <= p.ackSeq {
		return
	}
	if e, _ := n.sent(seq); e != nil {
		p.ackSeq, p.ackSent = seq, e.sentAt
	}
}

// leaseTimes returns, for this node as a holder, the q-th earliest time
// at which the other nodes could have declared it dead (start: no start
// from then on) and the time it must stop what it runs (hold: half the
// shortest wait later). bounded is false when no majority of the other
// nodes keeps the lease: then it does not limit this node.
func (n *Node) leaseTimes() (start, hold time.Time, bounded bool) {
	if !n.leaseOn() {
		return time.Time{}, time.Time{}, false
	}
	q := len(n.cfg.Nodes)/2 + 1
	bs := n.leaseScratch[:0]
	w := quorumWaitOf(n.cfg)
	for _, p := range n.peers {
		if p.leaseKnown && !p.lease {
			continue // it never counts in a majority that takes over by the lease
		}
		var b time.Time
		if p.lease && !p.ackSent.IsZero() {
			b = p.ackSent.Add(p.leaseDT - p.leaseDT/LeaseRateDivisor)
			w = min(w, p.leaseWait)
		}
		// insertion, earliest first (a zero time: it may have already)
		i := len(bs)
		bs = append(bs, b)
		for ; i > 0 && bs[i-1].After(b); i-- {
			bs[i] = bs[i-1]
		}
		bs[i] = b
	}
	n.leaseScratch = bs
	if len(bs) < q {
		return time.Time{}, time.Time{}, false
	}
	start = bs[q-1]
	if start.IsZero() {
		return start, start, true
	}
	return start, start.Add(w / 2), true
}

// leaseAllowsStart: this node may begin a start (it ends before a
// majority of the others could take its groups by the lease).
func (n *Node) leaseAllowsStart() bool {
	start, _, bounded := n.leaseTimes()
	return !bounded || n.now.Before(start)
}

// leaseHolds: this node may keep running its groups.
func (n *Node) leaseHolds() bool {
	_, hold, bounded := n.leaseTimes()
	return !bounded || n.now.Before(hold)
}

// leaseEnd is when the wait after p's death ends by the lease, if it
// does: p kept the lease, is still unheard, and every live peer keeps
// the lease and said it declared p dead.
//
// The wait is this node's or the one p announced, the longer
// (deadWait): p stops what it runs within the shortest wait it knows of,
// its own among them, whereas what p knows of this node's wait may be
// older than a reload that shortened it here.
func (n *Node) leaseEnd(p *peer) (time.Time, bool) {
	if !p.cutLease || p.heard {
		return time.Time{}, false
	}
	c := p.cutAt
	for _, o := range n.peers {
		if o == p || !n.live(o) {
			continue
		}
		if !o.lease {
			return time.Time{}, false
		}
		v := o.viewOf(p.name)
		if v == nil || !v.dead {
			return time.Time{}, false
		}
		if v.deadSince.After(c) {
			c = v.deadSince
		}
	}
	return c.Add(n.deadWait(p)), true
}

// deadWait is the wait after p's death by its lease (leaseEnd).
func (n *Node) deadWait(p *peer) time.Duration { return max(n.leaseWait(), p.leaseWait) }

// logLeaseEnds logs, before a start, each death whose wait the lease
// ended sooner (once per death).
func (n *Node) logLeaseEnds() {
	for _, p := range n.peers {
		if p.cutLogged || !p.cutUntil.After(n.now) {
			continue
		}
		if _, ok := n.leaseEnd(p); ok {
			p.cutLogged = true
			n.logf(LevelInfo, "Quorum: every live node declared %s dead; its quorum lease ended the wait %d ms early", p.name, p.cutUntil.Sub(n.now).Milliseconds())
		}
	}
}

// holdsAny: a group starts, runs or stops here.
func (n *Node) holdsAny() bool {
	for _, g := range n.res.groups {
		if g.holds() {
			return true
		}
	}
	return false
}
