package cluster

import (
	"slices"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// watchConfig is groupConfig (node1 prefers webKey) with a monitor line
// on its second resource.
func watchConfig() *config.Config {
	c := groupConfig("node1", "node1", config.FailbackOn)
	c.Monitors = []config.Monitor{{Resource: "webserver", Group: webKey, Index: 1, Interval: 10 * time.Second, Timeout: 5 * time.Second}}
	return c
}

// groupActions lists the group actions of acts, in order, by kind and key.
func groupActions(acts []Action) []string {
	var out []string
	for _, a := range acts {
		switch a := a.(type) {
		case WatchGroup:
			out = append(out, "watch "+a.Group)
		case UnwatchGroup:
			out = append(out, "unwatch "+a.Group)
		case StartGroup, StopGroup, ProbeGroup, Reannounce:
			out = append(out, actionKey(a))
		}
	}
	return out
}

// TestWatchFromStartUntilNextOperation: the core says when the daemon
// watches a group: from its successful start (WatchGroup, with the
// definition started and its monitor lines) until just before its next
// operation (UnwatchGroup, then StopGroup).
func TestWatchFromStartUntilNextOperation(t *testing.T) {
	tests := []struct {
		name    string
		end     func(h *hbPeer) []Action // what ends the watch
		handoff bool                     // the stop waits for the peer's info=other
	}{
		{"graceful stop", func(h *hbPeer) []Action { return h.n.Step(Stop{Now: h.now}) }, false},
		{"monitor gave up", func(h *hbPeer) []Action {
			return h.n.Step(GroupFailure{Now: h.now, Group: webKey, Detail: "webserver: not running"})
		}, false},
		{"standby", func(h *hbPeer) []Action { return h.n.Step(Command{Now: h.now, Kind: CmdStandby, Which: "all"}) }, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := watchConfig()
			h, acts := joinWithHeartbeatConfig(t, c)
			if got := groupActions(acts); !slices.Equal(got, []string{"start " + webKey}) {
				t.Fatalf("join: %q", got)
			}
			h.at(time.Second)
			acts = h.n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultOK})
			if got := groupActions(acts); !slices.Equal(got, []string{"watch " + webKey}) {
				t.Fatalf("start done: %q", got)
			}
			for _, a := range acts {
				if w, ok := a.(WatchGroup); ok {
					if len(w.Spec.Resources) != 2 || w.Spec.Key() != webKey {
						t.Errorf("WatchGroup.Spec = %+v, want the group started", w.Spec)
					}
					if len(w.Monitors) != 1 || w.Monitors[0] != c.Monitors[0] {
						t.Errorf("WatchGroup.Monitors = %+v, want the group's monitor line", w.Monitors)
					}
				}
			}
			h.at(2 * time.Second)
			acts = tc.end(h)
			if tc.handoff {
				if got := groupActions(acts); len(got) != 0 {
					t.Fatalf("handoff before the peer's answer: %q", got)
				}
				acts = h.send("t", "ask_resources", "rsc_hold", "all", "info", "other")
			}
			if got := groupActions(acts); !slices.Equal(got, []string{"unwatch " + webKey, "stop " + webKey}) {
				t.Fatalf("end: %q, want unwatch then stop", got)
			}
			acts = h.n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStop, Result: ResultOK})
			for _, a := range acts {
				if _, ok := a.(WatchGroup); ok {
					t.Errorf("watched again after its stop: %q", render(acts))
				}
			}
		})
	}
}

// TestNoWatchWithoutStart: a failed start, or a probe, is watched by
// nobody; a stop of a group never watched comes without UnwatchGroup.
func TestNoWatchWithoutStart(t *testing.T) {
	h, _ := joinWithHeartbeatConfig(t, watchConfig())
	h.at(time.Second)
	acts := h.n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultFailed, Detail: "exit 1"})
	for _, a := range acts {
		switch a.(type) {
		case WatchGroup, UnwatchGroup:
			t.Errorf("failed start: %q", render(acts))
		}
	}
}

// TestReannounceCarriesSpec: a kept group announced again after a heal
// carries its definition; the daemon never looks it up.
func TestReannounceCarriesSpec(t *testing.T) {
	h, _ := joinWithHeartbeatConfig(t, watchConfig())
	h.at(time.Second)
	h.n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultOK})
	h.at(2 * time.Second)
	acts := h.send("t", "resource", "rsc_hold", "all", "rtype", "full", "isstable", "1")
	var re []Reannounce
	for _, a := range acts {
		if r, ok := a.(Reannounce); ok {
			re = append(re, r)
		}
	}
	if len(re) != 1 || re[0].Group != webKey || re[0].Spec.Key() != webKey || len(re[0].Spec.Resources) != 2 {
		t.Fatalf("Reannounce %+v, want one for %s with its Spec: %q", re, webKey, render(acts))
	}
}
