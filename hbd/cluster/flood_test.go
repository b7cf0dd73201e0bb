package cluster

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRoutineFloodGrace: keepalive 1 s, deadtime 3 s, links eth0 and
// eth1; node2's statuses came at +1 s on the links named (heard0) and
// later ones as listed. A flood found by the links (RoutineFlood) on a
// link node2 is heard on (its link up there), just before its deadline,
// gives it a deadtime from then, once per time it is heard: dead or
// alive, and whatever floods follow, on any link. A flood on a link it
// is not heard on (never, or no more: that link dead) gives it nothing,
// and its links other than the flooded one die on time.
func TestRoutineFloodGrace(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	type flood struct {
		at    time.Duration
		links []string
	}
	type heard struct {
		at   time.Duration
		link string
	}
	eth0 := []string{"eth0"}
	ms := time.Millisecond
	for _, tc := range []struct {
		name   string
		heard0 []string // links node2's status at +1 s came on
		floods []flood
		heard  []heard         // node2's later statuses
		warns  int             // grants logged
		dead   time.Duration   // node2 declared dead at
		links  []time.Duration // its links eth0, eth1 declared dead at (0: not checked)
	}{
		{name: "no flood", heard0: eth0, dead: 4 * time.Second},
		{name: "a flood just before the deadline", heard0: eth0, floods: []flood{{3950 * ms, eth0}}, warns: 1, dead: 6950 * ms},
		{name: "a second flood, not heard since: no more grace", heard0: eth0, floods: []flood{{3950 * ms, eth0}, {6 * time.Second, eth0}}, warns: 1, dead: 6950 * ms},
		{name: "heard after the flood, then a flood again", heard0: eth0, floods: []flood{{3950 * ms, eth0}, {7 * time.Second, eth0}}, heard: []heard{{4500 * ms, "eth0"}}, warns: 2, dead: 10 * time.Second},
		{name: "a flood on a link it is no longer heard on (since +0.1 s)", heard0: []string{"eth1"}, floods: []flood{{3950 * ms, eth0}}, dead: 4 * time.Second},
		{name: "a flood on both links, heard on one", heard0: []string{"eth1"}, floods: []flood{{3950 * ms, []string{"eth0", "eth1"}}}, warns: 1, dead: 6950 * ms},
		{
			name: "a flood on a link dead before it", heard0: []string{"eth0", "eth1"},
			heard:  []heard{{2 * time.Second, "eth1"}, {3 * time.Second, "eth1"}, {4 * time.Second, "eth1"}},
			floods: []flood{{6950 * ms, eth0}}, dead: 7 * time.Second, links: []time.Duration{4 * time.Second, 7 * time.Second},
		},
		{
			name: "heard on both, a flood on one: the other link dies on time", heard0: []string{"eth0", "eth1"},
			floods: []flood{{3950 * ms, eth0}}, warns: 1, dead: 6950 * ms, links: []time.Duration{6950 * ms, 4 * time.Second},
		},
		{
			name: "a second flood on a link only the first one's floor keeps up: no more grace", heard0: []string{"eth0", "eth1"},
			heard:  []heard{{2 * time.Second, "eth1"}, {3 * time.Second, "eth1"}, {5 * time.Second, "eth1"}},
			floods: []flood{{3950 * ms, eth0}, {6500 * ms, eth0}}, warns: 1, dead: 8 * time.Second, links: []time.Duration{6950 * ms, 8 * time.Second},
		},
		{
			name: "a second flood on the other link, not heard since: no more grace", heard0: []string{"eth0", "eth1"},
			floods: []flood{{3950 * ms, eth0}, {6 * time.Second, []string{"eth1"}}}, warns: 1, dead: 6950 * ms, links: []time.Duration{6950 * ms, 4 * time.Second},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := joined(t, "eth0", "eth1")
			for _, l := range tc.heard0 {
				r := status2(gen2, 4, at(time.Second), "active")
				r.Link = l
				n.Step(r)
			}
			type ev struct {
				at    time.Duration
				flood []string
				link  string
			}
			var evs []ev
			for _, f := range tc.floods {
				evs = append(evs, ev{at: f.at, flood: f.links})
			}
			for _, h := range tc.heard {
				evs = append(evs, ev{at: h.at, link: h.link})
			}
			slices.SortFunc(evs, func(a, b ev) int { return cmp.Compare(a.at, b.at) })
			var all []string
			linkDead := map[string]time.Duration{}
			watch := func(now time.Duration, l []string) {
				for _, line := range l {
					for _, name := range []string{"eth0", "eth1"} {
						if strings.Contains(line, "Link node2:"+name+" dead.") {
							linkDead[name] = now
						}
					}
				}
				all = append(all, l...)
			}
			step := func(until time.Duration) {
				for next := n.NextTick(); !next.After(at(until)); next = n.NextTick() {
					watch(next.Sub(t0), logs(n.Step(Tick{Now: next})))
				}
			}
			seq := uint64(5)
			for _, e := range evs {
				step(e.at - time.Millisecond)
				if e.flood != nil {
					watch(e.at, logs(n.Step(RoutineFlood{Now: at(e.at), Links: e.flood})))
				} else {
					r := status2(gen2, seq, at(e.at), "active")
					r.Link = e.link
					watch(e.at, logs(n.Step(r)))
					seq++
				}
			}
			step(tc.dead - time.Millisecond)
			text := strings.Join(all, "\n")
			if strings.Contains(text, "is dead") {
				t.Fatalf("node2 dead before +%v:\n%s", tc.dead, text)
			}
			if w := strings.Count(text, "Routine heartbeats flooded"); w != tc.warns {
				t.Errorf("%d grants logged, want %d:\n%s", w, tc.warns, text)
			}
			step(tc.dead)
			if l := strings.Join(all, "\n"); !strings.Contains(l, "node node2: is dead") {
				t.Errorf("node2 not dead at +%v: %q", tc.dead, l)
			}
			step(tc.dead + 5*time.Second)
			for i, want := range tc.links {
				if name := []string{"eth0", "eth1"}[i]; want != 0 && linkDead[name] != want {
					t.Errorf("link %s declared dead at +%v, want +%v:\n%s", name, linkDead[name], want, strings.Join(all, "\n"))
				}
			}
		})
	}
}

// TestRoutineFloodGraceQuietPeer: node2 quiet (S = 10 s, so its deadline
// is 30 s after it was last heard, at +1 s). A flood on eth0 at +5 s
// gives it a scaled deadtime from then: +35 s. That floor stands only
// while nothing newer says otherwise: once node2 is heard after the
// flood, or its quiet ends (a status without hbd_quiet, even one that
// arrived before the flood and is read after it), it is judged as
// without the flood, and a death comes a deadtime after its status,
// not 30 s after the flood.
func TestRoutineFloodGraceQuietPeer(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	ms := time.Millisecond
	for _, tc := range []struct {
		name  string
		after []Receive     // node2's statuses, stepped after the flood
		dead  time.Duration // node2 declared dead at
	}{
		{"silent", nil, 35 * time.Second},
		{"heard quiet after the flood", []Receive{quietStatus2(6, at(11*time.Second), "eth0", "2710")}, 41 * time.Second},
		{"woke after the flood", []Receive{quietStatus2(6, at(6*time.Second), "eth0", "")}, 9 * time.Second},
		{"woke before the flood, read after it", []Receive{quietStatus2(6, at(4900*ms), "eth0", "")}, 7900 * ms},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := joinedQuiet(t, "eth0")
			var all []string
			all = append(all, logs(advanceTo(n, at(5*time.Second-ms)))...)
			all = append(all, logs(n.Step(RoutineFlood{Now: at(5 * time.Second), Links: []string{"eth0"}}))...)
			for _, r := range tc.after {
				if r.Now.After(at(5 * time.Second)) {
					all = append(all, logs(advanceTo(n, r.Now.Add(-ms)))...)
				}
				all = append(all, logs(n.Step(r))...)
			}
			all = append(all, logs(advanceTo(n, at(tc.dead-ms)))...)
			if text := strings.Join(all, "\n"); strings.Contains(text, "is dead") || !strings.Contains(text, "Routine heartbeats flooded on eth0") {
				t.Fatalf("before +%v: node2 dead, or no grant logged:\n%s", tc.dead, text)
			}
			if l := strings.Join(logs(advanceTo(n, at(tc.dead))), "\n"); !strings.Contains(l, "node node2: is dead") {
				t.Errorf("node2 not dead at +%v (dead at %v): %q", tc.dead, peerStatusOf(n, "node2").DeadAt.Sub(t0), l)
			}
		})
	}
}

// TestRoutineFloodJudgesNothing: a drain that finds a flood gives the
// core RoutineFlood before the messages it read, which arrived earlier.
// The flood judges no peer and no link: the statuses read with it show
// node2 alive, even where the flood gives it no grace (a flood on its
// dead link; a second flood before it was heard since the first).
func TestRoutineFloodJudgesNothing(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	ms := time.Millisecond
	type step struct {
		at    time.Duration
		flood []string // a read that found a flood on these links
		read  []heardAt
	}
	for _, tc := range []struct {
		name   string
		links  []string
		before []heardAt // node2's statuses stepped as they came
		reads  []step
	}{
		{
			name: "a flood on its dead link, its statuses on the other read with it", links: []string{"eth0", "eth1"},
			before: []heardAt{{time.Second, "eth0"}, {time.Second, "eth1"}, {2 * time.Second, "eth1"}, {3 * time.Second, "eth1"}, {4 * time.Second, "eth1"}, {5 * time.Second, "eth1"}},
			reads:  []step{{8 * time.Second, []string{"eth0"}, []heardAt{{6 * time.Second, "eth1"}, {7 * time.Second, "eth1"}}}},
		},
		{
			name: "a second flood before it was heard since the first", links: []string{"eth0"},
			before: []heardAt{{time.Second, "eth0"}},
			reads: []step{
				{3500 * ms, []string{"eth0"}, []heardAt{{2 * time.Second, "eth0"}, {3 * time.Second, "eth0"}}},
				{6500 * ms, []string{"eth0"}, []heardAt{{4 * time.Second, "eth0"}, {5 * time.Second, "eth0"}, {6 * time.Second, "eth0"}}},
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := joined(t, tc.links...)
			seq := uint64(4)
			hear := func(h heardAt) []string {
				r := status2(gen2, seq, at(h.at), "active")
				r.Link = h.link
				seq++
				return logs(n.Step(r))
			}
			var all []string
			for _, h := range tc.before {
				all = append(all, logs(advanceTo(n, at(h.at-ms)))...)
				all = append(all, hear(h)...)
			}
			for _, s := range tc.reads {
				all = append(all, logs(advanceTo(n, at(s.at-ms)))...)
				all = append(all, logs(n.Step(RoutineFlood{Now: at(s.at), Links: s.flood}))...)
				for _, h := range s.read {
					all = append(all, hear(h)...)
				}
				all = append(all, logs(n.Step(Tick{Now: at(s.at), Load: testLoad}))...)
			}
			if text := strings.Join(all, "\n"); strings.Contains(text, "is dead") || strings.Contains(text, "eth1 dead") {
				t.Errorf("node2 (or its live link) declared dead though the read showed it alive:\n%s", text)
			}
		})
	}
}

type heardAt struct {
	at   time.Duration
	link string
}
