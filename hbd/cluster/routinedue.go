package cluster

import "time"

// RoutineCanWait says whether a Tick at now may be stepped without first
// reading the peers' routine messages (Send.Routine) that wait for this
// node (the daemon's routine sockets, hbd/link): the Tick then does what
// it would have done with them, and they are read later, at a wake-up
// for anything else or at a Tick for which this says false. It says so
// only before routineDue, by now and by the time this node has reached
// (an event stepped before the Tick may have come later than its Now).
func (n *Node) RoutineCanWait(now time.Time) bool {
	due := n.routineDue()
	return !due.IsZero() && now.Before(due) && n.now.Before(due)
}

// routineDue is the earliest time at which a peer's routine message not
// yet received can matter to a Tick; zero means no such time: every Tick
// needs them read first.
//
// It is not zero only while every peer is quiet (its last status said
// hbd_quiet=S and it is honoured: quiet.go) and alive, heard on every
// link, with no seq of it missing and no news sent to it since its last
// status. Such a peer's routine messages are its status every S and an
// occasional acknowledgement; they tell nothing but that it is there
// (the arrival time they carry, not the moment they are read, is when
// it was heard) and, an acknowledgement, which of this node's messages
// it has, which only trims the history of sent messages. What a quiet
// peer says that is news (a status that changes anything, hbd_quiet
// included, any control message) is not routine and is read at once.
// So a Tick may go without them until the peer's next status is due,
// S after the arrival of its last, and never at or after a deadline of
// the peer or of one of its links (peerDeadline, peerDeadtime): the
// Tick that would declare it, or a link of it, dead has every routine
// message read first, and a status that waits unread never makes a
// death. From the time returned on, every Tick reads them until the
// next status is heard.
func (n *Node) routineDue() time.Time {
	if !n.booted || n.stopped || len(n.peers) == 0 {
		return time.Time{}
	}
	var due time.Time
	earliest := func(t time.Time) {
		if due.IsZero() || t.Before(due) {
			due = t
		}
	}
	for _, p := range n.peers {
		if !n.live(p) || p.quietEvery == 0 || p.quietDT == 0 || !p.quietNewsAt.IsZero() ||
			len(p.missing) > 0 || p.lastStatus.IsZero() || len(p.links) == 0 {
			return time.Time{}
		}
		earliest(p.lastStatus.Add(p.quietEvery))
		earliest(n.peerDeadline(p))
		dt := n.peerDeadtime(p)
		for _, l := range p.links {
			if l.state != LinkUp {
				return time.Time{}
			}
			earliest(l.lastHeard.Add(dt))
		}
	}
	return due
}
