package cluster

import "time"

// routineFlood: the links found a flood of routine datagrams at this
// wake-up's read (RoutineFlood): what the peers sent since the previous
// read may have been dropped by the kernel, behind a burst forged with
// their address. A live peer's statuses are read at once from now on, so
// no deadline of a live peer or of its links comes before its deadtime
// (scaled while it is quiet) from now: as many of its statuses may be
// lost from now as without the flood. Granted once per time the peer is
// heard: a peer that is really dead is declared dead at most one
// deadtime later than without the flood, however many floods follow.
func (n *Node) routineFlood() {
	var longest time.Duration
	for _, p := range n.peers {
		if p.state == StateDead || !p.heard {
			continue // initdead, or dead already
		}
		if !p.floodGrant.IsZero() && !p.lastHeard.After(p.floodGrant) {
			continue // not heard since its last grant
		}
		dt := n.peerDeadtime(p)
		p.floodGrant = n.now
		p.deadFloor = maxTime(p.deadFloor, n.now.Add(dt))
		longest = max(longest, dt)
	}
	if longest > 0 {
		n.logf(LevelWarn, "Routine heartbeats flooded: the peers' statuses since the last read may have been dropped; no node is declared dead before %d ms from now", longest.Milliseconds())
	}
}
