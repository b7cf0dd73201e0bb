package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
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

func TestReconfigureRefusesIncompleteTimings(t *testing.T) {
	n := joined(t)
	c := *n.cfg
	c.Warntime = 0
	c.Initdead = time.Second
	acts := n.Step(Reconfigure{Now: t0.Add(time.Second), Config: &c})
	wantLogs(t, acts, "ERROR: Reload refused: timings: warntime 0s is not positive; initdead 1s is less than deadtime 3s; keeping the running configuration")
	if got := n.Timings(); got != (Timings{Keepalive: time.Second, Warntime: 2 * time.Second, Deadtime: 3 * time.Second, Initdead: 10 * time.Second}) {
		t.Errorf("timings changed: %+v", got)
	}
}

func TestNewPanicsOnIncompleteConfig(t *testing.T) {
	tests := []struct {
		name string
		edit func(c *config.Config)
		want string
	}{
		{"no timings", func(c *config.Config) { c.Keepalive, c.Warntime, c.Deadtime, c.Initdead = 0, 0, 0, 0 }, "keepalive 0s is not positive"},
		{"this node not listed", func(c *config.Config) { c.Nodes = []string{"node2", "node3"} }, "does not list this node (node1)"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testConfig("node1")
			tc.edit(c)
			defer func() {
				r := recover()
				if msg, _ := r.(string); !strings.Contains(msg, tc.want) {
					t.Errorf("panic %v, want one containing %q", r, tc.want)
				}
			}()
			New(Options{Config: c, Now: t0})
		})
	}
}

// TestNewIsReconfigureOfAnEmptyNode: a node built with New and one whose
// configuration arrives by a reload before its boot run the same: the
// same actions for the same events.
func TestNewIsReconfigureOfAnEmptyNode(t *testing.T) {
	full := groupConfig("node1", "node1", config.FailbackOn)
	full.Nodes = []string{"node1", "node2", "node3"}
	a := New(Options{Config: full, UUID: uuid1, Generation: 0x6b02633b, Now: t0})

	bare := testConfig("node1")
	bare.Nodes = []string{"node1"}
	b := New(Options{Config: bare, UUID: uuid1, Generation: 0x6b02633b, Now: t0})
	b.reconfigure(Reconfigure{Now: t0, Config: full}) // before its boot
	b.out = nil

	for at := t0; at.Before(t0.Add(30 * time.Second)); at = at.Add(500 * time.Millisecond) {
		ga, gb := actionText(a.Step(Tick{Now: at})), actionText(b.Step(Tick{Now: at}))
		if ga != gb {
			t.Fatalf("at %v:\nNew:      %s\nreloaded: %s", at.Sub(t0), ga, gb)
		}
	}
}

// actionText is the actions as text (messages by their fields).
func actionText(acts []Action) string {
	var b strings.Builder
	for _, a := range acts {
		if s, ok := a.(*Send); ok {
			fmt.Fprintf(&b, "send%s %s\n", linkTag(s.Link), fields(s.Msg))
			continue
		}
		fmt.Fprintf(&b, "%#v\n", a)
	}
	return b.String()
}
