package cluster

import (
	"strings"
	"testing"
	"time"
)

// statusTimes ticks n up to until and returns when it sent a status.
func statusTimes(n *Node, until time.Time) []time.Duration {
	var at []time.Duration
	for next := n.NextTick(); !next.After(until); next = n.NextTick() {
		for _, m := range sends(n.Step(Tick{Now: next})) {
			if m.Value("t") == "status" {
				at = append(at, next.Sub(t0))
			}
		}
	}
	return at
}

func TestReconfigureKeepaliveTakesEffectWithoutPause(t *testing.T) {
	cases := []struct {
		name      string
		keepalive time.Duration
	}{
		{"shorter", 300 * time.Millisecond},
		{"longer", 2 * time.Second},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := joined(t)
			at := t0.Add(5500 * time.Millisecond) // after the dt bonus's extra status at +5s
			statusTimes(n, at)
			c := *n.cfg
			c.Keepalive = tc.keepalive
			c.Deadtime = 10 * time.Second
			n.Step(Reconfigure{Now: at, Config: &c})
			got := statusTimes(n, at.Add(10*time.Second))
			if len(got) < 2 {
				t.Fatalf("statuses after the reload: %v", got)
			}
			// The first status comes no later than one old keepalive (1s)
			// after the previous one (at +5s) and no later than one new
			// keepalive after the reload; then every new keepalive.
			first := got[0]
			limit := min(6*time.Second, 5500*time.Millisecond+tc.keepalive)
			if first > limit {
				t.Errorf("first status after the reload at +%v, want by +%v", first, limit)
			}
			for i := 1; i < len(got); i++ {
				if d := got[i] - got[i-1]; d != tc.keepalive {
					t.Errorf("status interval %v after the reload, want %v (%v)", d, tc.keepalive, got)
					break
				}
			}
		})
	}
}

// A shorter deadtime does not kill a peer that still sends at the old
// rate before it reloads too: the old deadtime stays in force for one old
// deadtime; after that the new one applies.
func TestReconfigureShorterDeadtimeNoFalseDeath(t *testing.T) {
	n := joined(t) // deadtime 3s
	seq := uint64(4)
	heard := t0.Add(110 * time.Millisecond)
	at := t0.Add(1 * time.Second)
	advanceTo(n, at)
	c := *n.cfg
	c.Keepalive, c.Warntime, c.Deadtime = 200*time.Millisecond, 400*time.Millisecond, 600*time.Millisecond
	n.Step(Reconfigure{Now: at, Config: &c})
	// node2 goes on at its old keepalive (1s) before it reloads...
	var lg []string
	for k := 1; k <= 3; k++ {
		heard = t0.Add(time.Duration(k)*time.Second + 100*time.Millisecond)
		lg = append(lg, logs(advanceTo(n, heard))...)
		n.Step(status2(gen2, seq, heard, "active"))
		seq++
	}
	for _, l := range lg {
		if strings.Contains(l, "is dead") {
			t.Fatalf("false death during the transition: %q", lg)
		}
	}
	// ...then falls silent: dead after the new deadtime once the old
	// deadtime's window (until +4s) has passed.
	lg = logs(advanceTo(n, heard.Add(3*time.Second)))
	if !has(lg, "WARN: node node2: is dead") {
		t.Fatalf("silent peer not declared dead: %q", lg)
	}
	if ps := n.Status().Peers[0]; ps.Deadtime != 600*time.Millisecond {
		t.Errorf("deadtime after the transition %v, want 600ms", ps.Deadtime)
	}
}

func TestReconfigureRefusesNewName(t *testing.T) {
	n := joined(t)
	c := *n.cfg
	c.ThisNode = "node7"
	c.Keepalive = 100 * time.Millisecond
	acts := n.Step(Reconfigure{Now: t0.Add(time.Second), Config: &c})
	wantLogs(t, acts, "ERROR: Reload refused: this node's name cannot change (node1 -> node7); keeping the running configuration")
	if n.keepalive != time.Second || n.cfg.ThisNode != "node1" {
		t.Errorf("configuration changed: keepalive %v, node %s", n.keepalive, n.cfg.ThisNode)
	}
}

func TestReconfigureRemovedPeerForgottenNewPeerExpected(t *testing.T) {
	n := joined(t)
	c := *n.cfg
	c.Nodes = []string{"node1", "node3"}
	at := t0.Add(time.Second)
	acts := n.Step(Reconfigure{Now: at, Config: &c})
	wantLogs(t, acts, "info: Node node2 removed from the configuration: forgotten", "info: Node node3 added to the configuration: expecting it", "info: New configuration in force (2 node(s), 0 resource group(s))")
	st := n.Status()
	if len(st.Peers) != 1 || st.Peers[0].Name != "node3" || st.Peers[0].State != StateUnknown {
		t.Fatalf("peers %+v", st.Peers)
	}
	// node2's packets are now from an unknown node.
	n.Step(status2(gen2, 4, at.Add(100*time.Millisecond), "active"))
	if n.Status().Dropped["unknown-node"] != 1 {
		t.Errorf("dropped %v", n.Status().Dropped)
	}
	// node3 is declared dead initdead (10s) after the reload, not before.
	if lg := logs(advanceTo(n, at.Add(10*time.Second-time.Millisecond))); has(lg, "WARN: node node3: is dead") {
		t.Fatalf("node3 dead before initdead: %q", lg)
	}
	if lg := logs(advanceTo(n, at.Add(10*time.Second))); !has(lg, "WARN: node node3: is dead") {
		t.Fatalf("node3 not dead at initdead: %q", lg)
	}
}
