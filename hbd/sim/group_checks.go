package sim

// The resource invariants' checks (Exclusive, Ordered, the yield and
// staying-put rules, and the end-of-run checks), on the ground truth that
// groups.go keeps.

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
)

// holds: node i holds group g for the invariants (see the description
// of the checks at the top of groups.go).
func (w *world) holds(i, g int) bool {
	n := w.nodes[i]
	if !n.alive || len(n.gt) == 0 {
		return false
	}
	t := n.gt[g]
	if t.orphan {
		return false
	}
	return t.up && !t.stopFailed && (t.run == n.run || n.joined)
}

func (w *world) hearing(a, b int) bool {
	x, y := w.nodes[a], w.nodes[b]
	if !x.alive || !y.alive || !w.net.Reaches(a, b) || !w.net.Reaches(b, a) || w.paused(a) || w.paused(b) {
		return false
	}
	sa, _, oka := x.core.PeerView(y.name)
	sb, _, okb := y.core.PeerView(x.name)
	ok := func(s string) bool { return s != cluster.StateDead && s != cluster.StateUnknown }
	// (a node its configuration does not name is no peer: not heard)
	return oka && okb && ok(sa) && ok(sb)
}

// seesAlive: node i's core sees node j alive (not dead, not unknown).
func (w *world) seesAlive(i, j int) bool {
	s, _, ok := w.nodes[i].core.PeerView(w.nodes[j].name)
	return ok && s != cluster.StateDead && s != cluster.StateUnknown
}

func (w *world) checkOrdered(i, g int) {
	for j := range w.nodes {
		if j != i && w.holds(j, g) && w.hearing(i, j) {
			w.violate(CheckOrdered, fmt.Sprintf("%s starts %s while %s still holds it", w.nodes[i].name, w.rs.keys[g], w.nodes[j].name))
		}
	}
}

// checkYield is CheckYield, at node i's stop of group g.
func (w *world) checkYield(i, g int) {
	n := w.nodes[i]
	if gs, _ := n.core.Group(w.rs.keys[g]); !gs.Yielding || n.core.Stopping() {
		return
	}
	reading := ""
	for j := range w.nodes {
		// (the nodes it sees alive: the one it yields to may not see it
		// alive yet, a paused node reading its backlog)
		if j == i || !w.nodes[j].alive || !w.seesAlive(i, j) {
			continue
		}
		if w.holds(j, g) {
			return // a copy that runs keeps it
		}
		if held, _ := n.core.PeerHolds(w.nodes[j].name, w.rs.keys[g]); !held {
			continue
		}
		if gt := w.nodes[j].gt; len(gt) > g && gt[g].reading {
			reading = w.nodes[j].name
		}
	}
	if reading != "" {
		w.violate(CheckYield, fmt.Sprintf("%s releases %s to %s, whose start still reads its statuses", n.name, w.rs.keys[g], reading))
	}
}

// checkStaysPut is Preferred for auto_failback off.
func (w *world) checkStaysPut(i, g int) {
	n := w.nodes[i]
	if n.failback != config.FailbackOff || w.now.Sub(n.fbChanged) < w.c.Settle() {
		return // (a failback begun before auto_failback off came may end)
	}
	if !n.joined || n.core.Stopping() || !n.core.HasQuorum() || n.gt[g].stopFailed || n.gt[g].run != n.run {
		return // (not started by this run: a leftover found by a probe)
	}
	w.res.StaysPut++ // a stop by a live member: judged below
	if gs, _ := n.core.Group(w.rs.keys[g]); gs.Standby || gs.Yielding || gs.Failed || w.staysPutExempt(i, g) {
		return
	}
	for j := range w.nodes {
		if j != i && w.holds(j, g) {
			return // a heal: the other node keeps it
		}
	}
	if w.higherHere(i, g) {
		return // an exclusive group before it comes here
	}
	w.violate(CheckPreferred, fmt.Sprintf("auto_failback off: %s releases %s while it lives and does not stand by for it", n.name, w.rs.keys[g]))
}

func (w *world) checkExclusive() {
	if w.c.Groups <= 0 {
		return
	}
	nn := len(w.nodes)
	for a := 0; a < nn; a++ {
		for b := a + 1; b < nn; b++ {
			if w.hearing(a, b) {
				if w.rs.hearSince[a][b].IsZero() {
					w.rs.hearSince[a][b] = w.now
				}
			} else {
				w.rs.hearSince[a][b] = time.Time{}
			}
		}
	}
	bound := w.c.HealBound()
	for g := range w.rs.keys {
		for a := 0; a < nn; a++ {
			for b := a + 1; b < nn; b++ {
				k := [3]int{g, a, b}
				if !w.holds(a, g) || !w.holds(b, g) {
					if ov := w.rs.overlaps[k]; ov != nil && !ov.hearing {
						if hs := w.rs.hearSince[a][b]; !hs.IsZero() {
							// A partition's duplicate ended after the heal.
							w.res.HealResolved++
							if d := w.now.Sub(hs); d > w.res.MaxHealResolve {
								w.res.MaxHealResolve = d
							}
						}
					}
					delete(w.rs.overlaps, k)
					continue
				}
				hs := w.rs.hearSince[a][b]
				ov := w.rs.overlaps[k]
				if ov == nil && hs.IsZero() && w.c.strictExclusive() && w.listed(a, b) && w.listed(b, a) {
					ov = &overlap{began: w.now}
					w.rs.overlaps[k] = ov
					w.res.Conflicts++
					ov.told = true
					w.violate(CheckExclusive, fmt.Sprintf("quorum: %s and %s both hold %s across a partition", w.nodes[a].name, w.nodes[b].name, w.rs.keys[g]))
				}
				if ov == nil {
					ov = &overlap{began: w.now, hearing: !hs.IsZero()}
					w.rs.overlaps[k] = ov
					if !ov.hearing {
						w.res.Conflicts++
					}
				}
				if hs.IsZero() || ov.told {
					continue
				}
				if ov.hearing {
					ov.told = true
					w.violate(CheckExclusive, fmt.Sprintf("%s and %s both hold %s while they hear each other", w.nodes[a].name, w.nodes[b].name, w.rs.keys[g]))
					continue
				}
				if !w.sameKeeperRule(a, b, g) {
					ov.agreed = time.Time{}
					continue
				}
				if ov.agreed.IsZero() {
					ov.agreed = w.now
				}
				if from := later(hs, ov.agreed); w.now.Sub(from) > bound {
					ov.told = true
					w.violate(CheckExclusive, fmt.Sprintf("%s and %s still both hold %s %s after they hear each other again (bound %s)", w.nodes[a].name, w.nodes[b].name, w.rs.keys[g], fmtDur(w.now.Sub(hs)), fmtDur(bound)))
				}
			}
		}
	}
}

// sameKeeperRule: nodes a and b pick the same keeper of group g after a
// heal: their configurations in force have the same node list and the
// same preferred node for g.
func (w *world) sameKeeperRule(a, b, g int) bool {
	ca, cb := w.cfgs[a], w.cfgs[b]
	if !slices.Equal(ca.Nodes, cb.Nodes) {
		return false
	}
	pa, oka := preferredOf(ca, w.rs.keys[g])
	pb, okb := preferredOf(cb, w.rs.keys[g])
	return oka == okb && pa == pb
}

func preferredOf(c *config.Config, key string) (string, bool) {
	for _, g := range c.Groups {
		if g.Key() == key {
			return g.Preferred, true
		}
	}
	return "", false
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (w *world) checkEnd() {
	if w.c.Groups <= 0 || w.now.Sub(w.rs.lastDisr) < w.c.Settle() {
		return
	}
	var healthy []int
	for i, n := range w.nodes {
		if n.alive && n.joined && !n.exiting && (w.ns == nil || w.ns.member[i]) {
			healthy = append(healthy, i)
		}
	}
	if len(healthy) == 0 || w.c.Quorum.Enabled(w.c.Nodes) && 2*len(healthy) <= w.c.Nodes {
		return // (with quorum, a minority holds nothing)
	}
	w.res.EndChecks++
	w.checkSettingsEnd(healthy)
	for g, key := range w.rs.keys {
		if !w.rs.inCfg[g] {
			// Removed by a reload: released everywhere (but processes a
			// killed daemon left behind, which no configuration names any
			// more, are beyond hbd's reach).
			for _, n := range w.nodes {
				if t := n.gt[g]; n.alive && t.up && !t.orphan {
					w.violate(CheckAvailable, fmt.Sprintf("%s was removed from the configuration but still runs on %s", key, n.name))
				}
			}
			continue
		}
		skip, failedAll := false, true
		for _, i := range healthy {
			gs, _ := w.nodes[i].core.Group(key)
			skip = skip || gs.State == cluster.GroupStopFailed
			if w.c.SettingsCommands == 0 || w.forbids(i, g) == "" {
				// (a node the settings forbid counts as failed here)
				failedAll = failedAll && gs.Failed
			}
		}
		if skip || failedAll || w.exclNoRoom(g, healthy) {
			continue
		}
		var holders []string
		holder := -1
		for i, n := range w.nodes {
			if n.alive && n.gt[g].up {
				holders = append(holders, n.name)
				holder = i
			}
		}
		if len(holders) != 1 {
			w.violate(CheckAvailable, fmt.Sprintf("%s is held by [%s] at the end of a quiet run; %s", key, strings.Join(holders, " "), w.groupViews(key)))
			continue
		}
		if gs, _ := w.nodes[holder].core.Group(key); gs.State != cluster.GroupRunning {
			w.violate(CheckAvailable, fmt.Sprintf("%s runs on %s, whose core says %s", key, w.nodes[holder].name, gs.State))
		}
		if w.rs.failback == config.FailbackOff {
			continue
		}
		p := w.rs.prefs[g]
		pn := w.nodes[p]
		if !pn.alive || !pn.joined || pn.exiting {
			continue
		}
		if gs, _ := pn.core.Group(key); gs.Standby || gs.Failed || w.preferredExempt(g, p) {
			continue
		}
		if holder != p && w.exclHigherUp(p, g) {
			continue // its preferred node runs an exclusive group before it
		}
		w.res.PreferredEnd++
		if holder != p {
			w.violate(CheckPreferred, fmt.Sprintf("%s is held by %s, not by its healthy preferred node %s", key, w.nodes[holder].name, pn.name))
		}
	}
}

// groupViews describes every live node's view of a group (for violations).
func (w *world) groupViews(key string) string {
	var b strings.Builder
	for _, n := range w.nodes {
		if !n.alive {
			continue
		}
		gs, _ := n.core.Group(key)
		fmt.Fprintf(&b, "[%s: %s holder=%s desired=%s standby=%v failed=%v] ", n.name, gs.State, gs.Holder, gs.Desired, gs.Standby, gs.Failed)
	}
	return strings.TrimSpace(b.String())
}
