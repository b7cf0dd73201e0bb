package cluster

import (
	"cmp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRoutineFloodGrace: keepalive 1 s, deadtime 3 s; node2's last
// status came at +1 s. A flood found by the links (RoutineFlood) just
// before its deadline gives it a deadtime from then, once per time it is
// heard: dead or alive, and whatever floods follow.
func TestRoutineFloodGrace(t *testing.T) {
	at := func(d time.Duration) time.Time { return t0.Add(d) }
	for _, tc := range []struct {
		name   string
		floods []time.Duration // RoutineFlood at these times
		heard  []time.Duration // node2's statuses
		warns  int             // grants logged
		dead   time.Duration   // node2 declared dead at
	}{
		{"no flood", nil, nil, 0, 4 * time.Second},
		{"a flood just before the deadline", []time.Duration{3950 * time.Millisecond}, nil, 1, 6950 * time.Millisecond},
		{"a second flood, not heard since: no more grace", []time.Duration{3950 * time.Millisecond, 6 * time.Second}, nil, 1, 6950 * time.Millisecond},
		{"heard after the flood, then a flood again", []time.Duration{3950 * time.Millisecond, 7 * time.Second}, []time.Duration{4500 * time.Millisecond}, 2, 10 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := joined(t)
			n.Step(status2(gen2, 4, at(time.Second), "active"))
			type ev struct {
				at    time.Duration
				flood bool
			}
			var evs []ev
			for _, f := range tc.floods {
				evs = append(evs, ev{f, true})
			}
			for _, h := range tc.heard {
				evs = append(evs, ev{h, false})
			}
			slices.SortFunc(evs, func(a, b ev) int { return cmp.Compare(a.at, b.at) })
			var all []string
			seq := uint64(5)
			for _, e := range evs {
				all = append(all, logs(advanceTo(n, at(e.at-time.Millisecond)))...)
				if e.flood {
					all = append(all, logs(n.Step(RoutineFlood{Now: at(e.at)}))...)
				} else {
					all = append(all, logs(n.Step(status2(gen2, seq, at(e.at), "active")))...)
					seq++
				}
			}
			all = append(all, logs(advanceTo(n, at(tc.dead-time.Millisecond)))...)
			text := strings.Join(all, "\n")
			if strings.Contains(text, "is dead") {
				t.Fatalf("node2 dead before +%v:\n%s", tc.dead, text)
			}
			if w := strings.Count(text, "Routine heartbeats flooded"); w != tc.warns {
				t.Errorf("%d grants logged, want %d:\n%s", w, tc.warns, text)
			}
			if l := strings.Join(logs(advanceTo(n, at(tc.dead))), "\n"); !strings.Contains(l, "node node2: is dead") {
				t.Errorf("node2 not dead at +%v: %q", tc.dead, l)
			}
		})
	}
}
