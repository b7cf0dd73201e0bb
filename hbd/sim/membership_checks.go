// The membership checks that look at one observer and one peer over time:
// a restart seen at once (CheckRestartSeen), a death declared in time
// (CheckDeadInTime).
package sim

import (
	"fmt"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

func (w *world) check3(e *event) {
	x, y := w.nodes[e.node], w.nodes[e.from]
	if !x.alive || x.run != e.run || !y.alive || y.run != e.frun || w.paused(e.node) || !w.listed(e.node, e.from) {
		return
	}
	v := w.views[e.node][e.from]
	if v.upRun != y.run || v.upAt.After(w.now) {
		return // no up/active status of that run arrived in time: not applicable
	}
	if w.relistedAfter(e.node, e.from, v.upAt) {
		return // x's configuration dropped y since, and named it again: x waits for y's next status
	}
	w.res.Checks3++
	st, g, _ := x.core.PeerView(y.name)
	if (st != cluster.StateUp && st != cluster.StateActive) || g != y.gen {
		w.violate(CheckRestartSeen, fmt.Sprintf("%s sees %s as %s hg=%x one keepalive after its restart (hg=%x) was heard", x.name, y.name, st, g, y.gen))
	}
}

func (w *world) checkDeadInTime() {
	for xi, x := range w.nodes {
		if !x.alive || w.paused(xi) {
			continue
		}
		for yi, y := range w.nodes {
			if xi == yi || !w.listed(xi, yi) {
				continue // (a node not named is no peer: never declared dead)
			}
			v := w.views[xi][yi]
			var bound time.Time
			if v.heard {
				wc := w.c.widest()
				d := wc.Deadtime
				if v.statusDt > d {
					d = v.statusDt
				}
				if w.checkDeadtime > 0 {
					d = w.checkDeadtime
				}
				if v.statusQuiet > 0 {
					// Y is quiet: its deadline is as many statuses away
					// (by X's keepalive, at least the run's base one).
					d = d * (v.statusQuiet / time.Millisecond) / (w.c.Keepalive / time.Millisecond)
				}
				bound = w.floodBound(xi, yi, v.lastSeq.Add(d+wc.Keepalive), d)
			} else {
				bound = x.started.Add(w.c.widest().Initdead + w.c.widest().Keepalive)
			}
			bound = w.stallBound(x, w.deadBound(xi, yi, bound), v.statusQuiet)
			if !w.now.After(bound) {
				continue
			}
			if st, _, _ := x.core.PeerView(y.name); st != cluster.StateDead {
				w.violate(CheckDeadInTime, fmt.Sprintf("%s still sees %s as %s, %s after its last packet (bound %s)", x.name, y.name, st, fmtDur(w.now.Sub(v.lastSeq)), fmtDur(bound.Sub(Epoch))))
				// report once per silence
				w.views[xi][yi].lastSeq = w.now
				w.views[xi][yi].heard = true
			}
		}
	}
}
