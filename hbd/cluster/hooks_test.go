package cluster

import (
	"fmt"
	"testing"
	"time"
)

// TestRunHookOnlyForAcceptedMessages: a hook runs once per message the
// core accepted, never for a copy on another link, a duplicate, a replay,
// a stale generation or a message to another node.
func TestRunHookOnlyForAcceptedMessages(t *testing.T) {
	type rx struct {
		gen  uint64
		seq  uint64
		link string
		typ  string
		dest string
	}
	at := t0.Add(time.Second)
	tests := []struct {
		name string
		msgs []rx
		want []int // hooks emitted for each message
	}{
		{"ip-request", []rx{{gen2, 4, "eth0", "ip-request", ""}}, []int{1}},
		{"ip-request-resp", []rx{{gen2, 4, "eth0", "ip-request-resp", "node1"}}, []int{1}},
		{"ask_resources", []rx{{gen2, 4, "eth0", "ask_resources", ""}}, []int{1}},
		{"hb_takeover", []rx{{gen2, 4, "eth0", "hb_takeover", ""}}, []int{1}},
		{"not a hook type", []rx{{gen2, 4, "eth0", "starting", ""}}, []int{0}},
		{"one per message, not per link", []rx{{gen2, 4, "eth0", "ip-request", ""}, {gen2, 4, "eth1", "ip-request", ""}}, []int{1, 0}},
		{"duplicate on the same link", []rx{{gen2, 4, "eth0", "ip-request", ""}, {gen2, 4, "eth0", "ip-request", ""}}, []int{1, 0}},
		{"replay of an older seq", []rx{{gen2, 4, "eth0", "ip-request", ""}, {gen2, 5, "eth0", "ip-request", ""}, {gen2, 4, "eth0", "ip-request", ""}}, []int{1, 1, 0}},
		{"stale generation", []rx{{gen2 - 1, 9, "eth0", "ip-request", ""}}, []int{0}},
		{"to another node", []rx{{gen2, 4, "eth0", "ip-request", "node3"}}, []int{0}},
		{"a lost seq asked again comes once", []rx{{gen2, 5, "eth0", "status", ""}, {gen2, 4, "eth0", "ip-request", ""}, {gen2, 4, "eth1", "ip-request", ""}}, []int{0, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := joined(t, "eth0", "eth1")
			for i, r := range tc.msgs {
				kv := []string{"t", r.typ, "rsc_hold", "all", "info", "me"}
				if r.typ == "status" {
					kv = []string{"t", "status", "st", "active", "dt", "bb8", "protocol", "1"}
				}
				if r.dest != "" {
					kv = append(kv, "dest", r.dest)
				}
				acts := n.Step(Receive{Now: at, Link: r.link, Msg: peerMsg(r.gen, r.seq, at, kv...)})
				var hooks []RunHook
				for _, a := range acts {
					if h, ok := a.(RunHook); ok {
						hooks = append(hooks, h)
					}
				}
				if len(hooks) != tc.want[i] {
					t.Fatalf("message %d (%+v): %d hooks, want %d: %q", i, r, len(hooks), tc.want[i], render(acts))
				}
				for _, h := range hooks {
					if h.Event != r.typ || h.Fields["t"] != r.typ || h.Fields["src"] != "node2" || h.Fields["seq"] != fmt.Sprintf("%x", r.seq) || h.Fields["rsc_hold"] != "all" {
						t.Errorf("hook %+v, want event %s with the message's fields", h, r.typ)
					}
					if _, ok := h.Fields["srcuuid"]; ok {
						t.Errorf("binary field srcuuid passed to the hook: %+v", h)
					}
				}
			}
		})
	}
}

// TestPeerStateActions: PeerState comes once per change of a peer's
// state, from its status messages, its death and its shutdown notice.
func TestPeerStateActions(t *testing.T) {
	peerStates := func(acts []Action) []string {
		var out []string
		for _, a := range acts {
			if p, ok := a.(PeerState); ok {
				out = append(out, p.Node+"="+p.State)
			}
		}
		return out
	}
	check := func(t *testing.T, what string, acts []Action, want ...string) {
		t.Helper()
		if got := peerStates(acts); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: PeerState %q, want %q", what, got, want)
		}
	}
	t.Run("status changes", func(t *testing.T) {
		n := booted(t)
		at := t0.Add(100 * time.Millisecond)
		check(t, "init", n.Step(status2(gen2, 1, at, "init")), "node2=init")
		check(t, "init again", n.Step(status2(gen2, 2, at, "init")))
		check(t, "up", n.Step(status2(gen2, 3, at, "up")), "node2=up")
		check(t, "duplicate up", n.Step(status2(gen2, 3, at, "up")))
		check(t, "active", n.Step(status2(gen2, 4, at, "active")), "node2=active")
	})
	t.Run("dead after deadtime", func(t *testing.T) {
		n := joined(t)
		check(t, "silence", advanceTo(n, t0.Add(5*time.Second)), "node2=dead")
		check(t, "still silent", advanceTo(n, t0.Add(9*time.Second)))
	})
	t.Run("shutdown notice", func(t *testing.T) {
		n := joined(t)
		at := t0.Add(200 * time.Millisecond)
		check(t, "shutdone", n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 4, at, "t", "shutdone", "st", "dead")}), "node2=dead")
	})
}

// TestNoHookForAMessageFromBeforeADeath: a peer declared dead that returns
// with the same generation (a suspended machine) has its seq tracking
// restarted at its first message after the return; a copy of a message it
// sent before the death, resent later on another node's request, is a
// replay (no hook, not acted on), while a seq never seen below the return
// still comes once.
func TestNoHookForAMessageFromBeforeADeath(t *testing.T) {
	n := joined(t)
	ask := func(seq uint64, at time.Time) Receive {
		return Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, seq, at, "t", "ask_resources", "rsc_hold", "all", "info", "me")}
	}
	hooks := func(acts []Action) int {
		c := 0
		for _, a := range acts {
			if _, ok := a.(RunHook); ok {
				c++
			}
		}
		return c
	}
	at := t0.Add(time.Second)
	if got := hooks(n.Step(ask(4, at))); got != 1 {
		t.Fatalf("ask_resources seq 4: %d hooks, want 1", got)
	}
	advanceTo(n, t0.Add(6*time.Second))
	if p := n.peerByName("node2"); p.state != StateDead {
		t.Fatalf("node2 is %s after 5 s of silence, want dead", p.state)
	}
	back := t0.Add(8 * time.Second)
	n.Step(status2(gen2, 9, back, "active"))
	steps := []struct {
		seq   uint64
		hooks int
		log   string
	}{
		{4, 0, "WARN: should_drop_message: packet from node2 sent before it was declared dead (seq 4, then 4)"},
		{6, 1, ""}, // sent while it was dead to us, never seen
		{6, 0, ""},
	}
	for _, s := range steps {
		acts := n.Step(ask(s.seq, back))
		if got := hooks(acts); got != s.hooks {
			t.Errorf("ask_resources seq %d after the return: %d hooks, want %d: %q", s.seq, got, s.hooks, render(acts))
		}
		if s.log != "" && !has(logs(acts), s.log) {
			t.Errorf("ask_resources seq %d after the return: logs %q, want %q", s.seq, logs(acts), s.log)
		}
	}
}
