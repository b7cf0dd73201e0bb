package etcdown

import (
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
)

// failback_delay: with auto_failback, a group returns to its preferred
// node only once that node has been a member for Options.FailbackDelay,
// as with the Heartbeat backend (hbd/cluster/failures.go, failbackHeld).
// When a node joined is when this node saw its member key created (the
// watch brings it within milliseconds to every node); members already
// there when this node started count as joined long ago.

// joinSeen is when a member key, created at rev, was first seen here.
type joinSeen struct {
	rev int64
	at  time.Time
}

// noteJoins records when each live member's key was first seen.
func (w *Owner) noteJoins(v view) {
	now := time.Now()
	first := w.joined == nil
	if first {
		w.joined = map[string]joinSeen{}
	}
	for n, rev := range v.joinedAt {
		if w.joined[n].rev == rev {
			continue
		}
		at := now
		if first {
			at = time.Time{}
		}
		w.joined[n] = joinSeen{rev: rev, at: at}
	}
	for n := range w.joined {
		if _, ok := v.joinedAt[n]; !ok {
			delete(w.joined, n)
			w.left[n] = true // known absent (initdead.go)
		}
	}
	for n := range v.joinedAt {
		delete(w.left, n)
	}
}

// holdFailbacks keeps here the held groups that desired gives back to
// their preferred node only by auto_failback while that node joined less
// than FailbackDelay ago; the plan is logged once per member's join.
func (w *Owner) holdFailbacks(p cluster.Placement, desired map[string]string) {
	if w.o.FailbackDelay <= 0 || !p.Failback {
		return
	}
	now := time.Now()
	var without map[string]string // the rule without auto_failback
	for _, g := range w.o.Groups {
		to := desired[g.Key]
		if movedTo, _ := cluster.ParseMove(p.Moves[g.Key]); to == w.o.Node || to != g.Preferred || !w.isHeld(g.Key) || movedTo == to {
			continue
		}
		j, ok := w.joined[to]
		if !ok {
			continue
		}
		due := j.at.Add(w.o.FailbackDelay)
		if !now.Before(due) {
			continue
		}
		if without == nil {
			q := p
			q.Failback = false
			without = q.Desired()
		}
		if without[g.Key] != w.o.Node {
			continue
		}
		desired[g.Key] = w.o.Node
		if w.failbackLogged[g.Key] != due {
			w.failbackLogged[g.Key] = due
			w.log.Infof("etcd: failback of group %s to %s in %s (failback_delay; run hbd standby on %s to cancel)", g.Key, to, due.Sub(now).Round(time.Millisecond), to)
		}
	}
}
