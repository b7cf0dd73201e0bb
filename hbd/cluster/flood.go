package cluster

import (
	"slices"
	"strings"
	"time"
)

// routineFlood: the links found a flood of routine datagrams on the links
// named at this wake-up's read (RoutineFlood): what the peers sent there
// since the previous read may have been dropped by the kernel, behind a
// burst forged with their address. A live peer's statuses on those links
// are read at once from now on, so no deadline of a live peer heard on
// one of them (its link up there), nor of those links of it, comes before
// its deadtime (scaled while it is quiet) from now, until it is heard
// again there: as many of its statuses may be lost from now as without
// the flood, and what it sends after this moment is judged as without
// the flood (a floor kept past it would hold a death back by the
// deadtime scaled when it was quiet, after it woke). A peer whose links
// there are dead or were never up gets nothing: it was silent on them
// before the read the flood spoilt (a drain that found no flood read all
// it sent), so its other links alone keep it alive, and its death comes
// on time; nor do its other links, whose statuses the flood did not
// touch. Granted once per time the peer is heard: a peer that is really
// dead is declared dead at most one deadtime later than without the
// flood, however many floods follow, on any link.
//
// It judges nothing (Step): the daemon steps it before the messages the
// same read gave, which arrived before it and may show a peer alive, or
// a link of it, that no grace covers; and it leaves the node's time
// where it was, so that stepping those messages judges nothing either
// before the event that woke the daemon, at at or later.
func (n *Node) routineFlood(at time.Time, links []string) {
	var longest time.Duration
	var granted []string
	for _, p := range n.peers {
		if p.state == StateDead || !p.heard {
			continue // initdead, or dead already
		}
		if !p.lastHeard.After(p.floodGrant) {
			continue // not heard since its last grant
		}
		dt := n.peerDeadtime(p)
		until := at.Add(dt)
		hit := false
		for _, l := range p.links {
			// Up there, and heard there since that link's last grant: a
			// link only an earlier flood's floor keeps up showed nothing
			// of the peer since, and gives no more.
			if l.state == LinkUp && l.lastHeard.After(l.floodAt) && slices.Contains(links, l.name) {
				l.floodFloor, l.floodAt = until, at
				hit = true
			}
		}
		if !hit {
			continue
		}
		p.floodGrant, p.floodFloor = at, until
		longest = max(longest, dt)
		granted = append(granted, p.name)
	}
	if len(granted) > 0 {
		n.logf(LevelWarn, "Routine heartbeats flooded on %s: the statuses since the last read may have been dropped there; %s not declared dead before %d ms from now", strings.Join(links, ", "), strings.Join(granted, ", "), longest.Milliseconds())
	}
}
