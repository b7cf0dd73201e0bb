package cluster

import (
	"reflect"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// TestPrepareGroupWhileThePeerReleases: node1 is told to prepare the
// start of a group a Heartbeat node2 releases to it, once, as soon as the
// release is announced (its shutdown notice, its standby's or failback's
// ask_resources info=me), with the definition the start then runs, and
// before the start; never while node2 merely holds the group.
func TestPrepareGroupWhileThePeerReleases(t *testing.T) {
	cases := []struct {
		name    string
		pref    string
		holds   []string   // node2's announcement of what it holds
		release []string   // the message that announces its release
		more    [][]string // messages between the release and its end
		end     []string   // the message after which node1 starts
	}{
		{"graceful stop", "node2",
			[]string{"t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1"},
			[]string{"t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0", "info", "shutdown"},
			[][]string{
				{"t", "status", "st", "active", "dt", "bb8", "protocol", "1"},
				{"t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0", "info", "shutdown"},
			},
			[]string{"t", "shutdone", "st", "dead"}},
		{"standby", "node2",
			[]string{"t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1"},
			[]string{"t", "ask_resources", "rsc_hold", "all", "info", "me"},
			[][]string{
				{"t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "0"},
				{"t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0", "info", "standby"},
			},
			[]string{"t", "ask_resources", "rsc_hold", "all", "info", "done"}},
		{"failback", "node1",
			[]string{"t", "resource", "rsc_hold", "all", "rtype", "full", "isstable", "1"},
			[]string{"t", "ask_resources", "rsc_hold", "foreign", "info", "me"},
			[][]string{
				{"t", "resource", "rsc_hold", "all", "rtype", "full", "isstable", "0"},
				{"t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "0", "info", "standby"},
			},
			[]string{"t", "ask_resources", "rsc_hold", "foreign", "info", "done"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := groupConfig("node1", c.pref, config.FailbackOn)
			var h *hbPeer
			if c.pref == "node2" {
				h, _ = joinWithHeartbeatConfig(t, cfg)
			} else {
				// node1 prefers the group but node2 holds it when node1
				// joins: its failback hands it over.
				n := New(Options{Config: cfg, UUID: uuid1, Generation: 0x6b02633b, Now: t0})
				n.Step(Tick{Now: t0, Load: testLoad})
				h = &hbPeer{t: t, n: n}
				h.at(10 * time.Millisecond)
				n.Step(OpDone{Now: h.now, Group: webKey, Op: OpProbe, Result: ResultStopped})
				h.send("t", "status", "st", "active", "dt", "bb8", "protocol", "1")
				h.send("dest", "node1", "t", "repnodes", "nodelist", "node1 node2 ", "delnodelist", " ")
			}
			n := h.n
			acts := h.send(c.holds...)
			acts = append(acts, advanceTo(n, h.now.Add(300*time.Millisecond))...)
			h.now = n.now
			if p := actionsOf[PrepareGroup](acts); len(p) > 0 || hasAction(acts, StartGroup{Group: webKey}) {
				t.Fatalf("node2 only holds the group, yet: %q", render(acts))
			}
			acts = h.send(c.release...)
			p := actionsOf[PrepareGroup](acts)
			if len(p) != 1 {
				t.Fatalf("release announced: %d PrepareGroup, want 1: %q", len(p), render(acts))
			}
			want := PrepareGroup{Group: webKey, Spec: cfg.Groups[0], From: "node2"}
			if !reflect.DeepEqual(p[0], want) {
				t.Errorf("got %+v, want %+v", p[0], want)
			}
			if hasAction(acts, StartGroup{Group: webKey}) {
				t.Fatalf("started while node2 releases: %q", render(acts))
			}
			h.at(h.now.Sub(t0) + 100*time.Millisecond)
			acts = nil
			for _, m := range c.more {
				acts = append(acts, h.send(m...)...)
				acts = append(acts, advanceTo(n, h.now.Add(100*time.Millisecond))...)
				h.now = n.now
			}
			if len(actionsOf[PrepareGroup](acts)) != 0 {
				t.Errorf("prepared again in the same release: %q", render(acts))
			}
			acts = h.send(c.end...)
			var start *StartGroup
			for _, a := range acts {
				if s, ok := a.(StartGroup); ok {
					start = &s
				}
			}
			if start == nil {
				t.Fatalf("no start after the release: %q", render(acts))
			}
			if !reflect.DeepEqual(start.Spec, want.Spec) {
				t.Errorf("the start runs %+v, the prepare read %+v", start.Spec, want.Spec)
			}
			if len(actionsOf[PrepareGroup](acts)) != 0 {
				t.Errorf("prepared with the start: %q", render(acts))
			}
		})
	}
}

// TestNoPrepareForAnotherClass: a peer's standby of a class of groups
// that does not hold this one prepares nothing. (The releasing node is
// never told to prepare: TestHeartbeatTakeoverRequest.)
func TestNoPrepareForAnotherClass(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node2", config.FailbackOn)
	h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")
	h.at(time.Second)
	acts := h.send("t", "ask_resources", "rsc_hold", "foreign", "info", "me")
	if p := actionsOf[PrepareGroup](acts); len(p) != 0 {
		t.Errorf("prepared for a release of another class: %+v", p)
	}
}
