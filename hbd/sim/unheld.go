package sim

import "time"

// The time groups spend running nowhere (Result.Unheld): from a group's
// first start script on, every stretch during which no live node runs it
// (its processes up there, the ground truth) counts, for the groups of
// the newest configuration. A crash's deadtime and the takeover after it
// count, as does a start called off and begun again: it measures what
// clients see, and compares a change of the core with the old one on the
// same seed (the runs' first difference comes from the core).

// unheldTally is what tallyUnheld keeps between events.
type unheldTally struct {
	at   time.Time // the time of the last event tallied
	ever []bool    // the group has run somewhere since the run began
}

// tallyUnheld adds the time since the last event to Result.Unheld for
// every group that ran nowhere meanwhile; at is the next event's time
// (the state has not changed since the last one).
func (w *world) tallyUnheld(at time.Time) {
	t := &w.unheld
	if len(t.ever) < len(w.rs.keys) {
		t.ever = append(t.ever, make([]bool, len(w.rs.keys)-len(t.ever))...)
	}
	since := t.at
	t.at = at
	if since.IsZero() {
		return
	}
	for g := range w.rs.keys {
		held := false
		for _, n := range w.nodes {
			if n.alive && len(n.gt) > g && n.gt[g].up {
				held = true
				break
			}
		}
		switch {
		case held:
			t.ever[g] = true
		case t.ever[g] && w.rs.inCfg[g]:
			w.res.Unheld += at.Sub(since)
		}
	}
}
