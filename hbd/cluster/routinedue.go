package cluster

import "time"

// RoutineCanWait says whether a Tick at now may be stepped without first
// reading the peers' routine messages (Send.Routine) that wait for this
// node (the daemon's routine sockets, hbd/link): the Tick then does what
// it would have done with them, and they are read later, at a wake-up
// for anything else or at a Tick for which this says false. readAt is
// when the caller last began to read them (zero: never); what it reads
// later arrived after that.
//
// It says so only before routineDue and less than a deadtime (the one
// in force, unscaled) after readAt, by now and by the time this node has
// reached (an event stepped before the Tick may have come later than its
// Now). The second bound keeps what is read younger than a deadtime and
// a keepalive: a message of a peer that arrived at a sets the peer's and
// its link's deadlines at least a deadtime after a (even a status that
// ends its quiet, which shrinks the peer's deadtime from k deadtimes to
// one), and every message read arrived after readAt, while this node's
// time stays before readAt plus a deadtime until they are read (a
// Receive does not move it past the message's arrival). A quiet peer
// that woke and whose first status without hbd_quiet was lost sends
// routine statuses every keepalive that say it is not quiet any more:
// read so, they never make a death. The floor on the peer's deadlines
// when its quiet ends (quietEnded) keeps that too, and its other links';
// the bound keeps any message from waiting up to S to be read.
func (n *Node) RoutineCanWait(now, readAt time.Time) bool {
	due := n.routineDue()
	if due.IsZero() || readAt.IsZero() {
		return false
	}
	due = minTime(due, readAt.Add(n.effectiveDeadtime()))
	return now.Before(due) && n.now.Before(due)
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
			earliest(p.linkDeadline(l, dt))
		}
	}
	return due
}
