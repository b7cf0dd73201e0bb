package cluster

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// takingOver joins node1 with a Heartbeat node2 that holds its own group
// (webKey), lets node2 fall silent past deadtime and returns node1 in
// the middle of the takeover's start (StartGroup emitted, no OpDone).
func takingOver(t *testing.T) *hbPeer {
	t.Helper()
	h, _ := joinWithHeartbeat(t, "node2", config.FailbackOn)
	h.at(200 * time.Millisecond)
	h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")
	acts := advanceTo(h.n, t0.Add(5*time.Second))
	if !hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatalf("node2 silent for 5 s: no takeover: %q", render(acts))
	}
	if gs, _ := h.n.Group(webKey); gs.State != GroupStarting {
		t.Fatalf("web is %s, want starting", gs.State)
	}
	h.at(5100 * time.Millisecond)
	return h
}

// TestTakeoverAbandonedWhenPeerReturns: node2, declared dead, is heard
// again while node1's takeover start runs: node1 calls the start off
// (once, however many messages follow); an abandoned start leaves the
// group stopped and not failed, with the INFO line; and the takeover does
// not begin again while node2 is heard but not yet live (no status since
// its return), nor once node2 says it holds the group.
func TestTakeoverAbandonedWhenPeerReturns(t *testing.T) {
	h := takingOver(t)
	// Its first message after the return is not a status: node2 stays
	// dead until its next status.
	acts := h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")
	if got := actionsOf[AbandonStart](acts); len(got) != 1 || got[0] != (AbandonStart{Group: webKey, Peer: "node2"}) {
		t.Fatalf("node2 heard again: abandons %v, want one of %s for node2; all: %q", got, webKey, render(acts))
	}
	if got := actionsOf[AbandonStart](h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")); len(got) != 0 {
		t.Errorf("a second message of node2: abandons %v again", got)
	}
	h.at(5200 * time.Millisecond)
	acts = h.n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultAbandoned})
	if has(logs(acts), "info: Takeover of resource group "+webKey+" abandoned: node2 was heard again before its start") == false {
		t.Errorf("no INFO line says the takeover was abandoned: %q", logs(acts))
	}
	if hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatalf("the abandoned takeover began again at once (node2 heard, not live yet): %q", render(acts))
	}
	gs, _ := h.n.Group(webKey)
	if gs.State != GroupStopped || gs.Failed {
		t.Fatalf("after the abandon web is %s (failed %v), want stopped, not failed", gs.State, gs.Failed)
	}
	// Its status: node2 is live again and says it holds web.
	h.at(5300 * time.Millisecond)
	acts = h.send("t", "status", "st", "active", "dt", "1388", "protocol", "1")
	acts = append(acts, h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")...)
	acts = append(acts, advanceTo(h.n, t0.Add(8*time.Second))...)
	if hasAction(acts, StartGroup{Group: webKey}) || hasAction(acts, StopGroup{Group: webKey}) {
		t.Errorf("node2 holds web and is live: node1 acted on web: %q", render(acts))
	}
}

// TestAbandonLosesTheRace: the start's own completion comes after the
// AbandonStart (a start script had begun): the group runs here, as the
// OpDone says; node1 neither stops it because of the call-off nor
// claims a stop of its own; a later OpDone of the abandoned kind for the
// same start is ignored.
func TestAbandonLosesTheRace(t *testing.T) {
	for _, res := range []Result{ResultOK, ResultFailed} {
		t.Run(res.String(), func(t *testing.T) {
			h := takingOver(t)
			acts := h.send("t", "status", "st", "active", "dt", "1388", "protocol", "1")
			if len(actionsOf[AbandonStart](acts)) != 1 {
				t.Fatalf("node2's status after its death: no AbandonStart: %q", render(acts))
			}
			acts = h.n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: res})
			gs, _ := h.n.Group(webKey)
			want := map[Result]string{ResultOK: GroupRunning, ResultFailed: GroupFailed}[res]
			if gs.State != want {
				t.Fatalf("web is %s after the start's %s, want %s", gs.State, res, want)
			}
			if res == ResultOK && !has(logs(acts), "info: Takeover of resource group "+webKey+" not abandoned: its start script had begun when node2 was heard again") {
				t.Errorf("no line says the takeover could not be abandoned: %q", logs(acts))
			}
			late := h.n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultAbandoned})
			if gs2, _ := h.n.Group(webKey); gs2.State != want || len(actionsOf[AbandonStart](late)) != 0 {
				t.Errorf("a second OpDone changed web to %s: %q", gs2.State, render(late))
			}
		})
	}
}

// TestRestartedPeerCallsStartOff: a new generation of node2 heard during
// the takeover after its death (a daemon killed and restarted: its groups
// may run until its release before joining) calls the start off too; a
// node2 back after a graceful stop (its shutdone: it gave everything up)
// does not.
func TestRestartedPeerCallsStartOff(t *testing.T) {
	restart := func(h *hbPeer) []Action {
		return h.n.Step(Receive{Now: h.now, Link: "eth0", Msg: peerMsg(gen2+1, 1, h.now, "t", "status", "st", "init", "dt", "1388", "protocol", "1")})
	}
	h := takingOver(t)
	if got := actionsOf[AbandonStart](restart(h)); len(got) != 1 {
		t.Errorf("node2 restarted after its death: abandons %v, want one", got)
	}

	h, _ = joinWithHeartbeat(t, "node2", config.FailbackOn)
	h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")
	h.at(time.Second)
	h.send("t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0", "info", "shutdown")
	h.at(1500 * time.Millisecond)
	if acts := h.send("t", "shutdone", "st", "dead"); !hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatalf("no takeover at the shutdone: %q", render(acts))
	}
	h.at(1600 * time.Millisecond)
	if got := actionsOf[AbandonStart](restart(h)); len(got) != 0 {
		t.Errorf("node2 restarted after its graceful stop: abandons %v", got)
	}
	if gs, _ := h.n.Group(webKey); gs.State != GroupStarting {
		t.Errorf("web is %s, want starting", gs.State)
	}
}

// TestCallOffOnlyWhatThePeerMayHold: node2, an hbd node that prefers web,
// says in its latest announcement that it does not hold web and why it
// does not take it (web failed there, or it stands by for it), and node1
// starts web. node2 falls silent, is declared dead, and is heard again
// while node1's start still runs: the start is called off only when node2
// may hold web by what it said, and in every case of doubt.
func TestCallOffOnlyWhatThePeerMayHold(t *testing.T) {
	failed := []string{"hbd_failed", webKey, "hbd_standby", ""}
	standby := []string{"hbd_failed", "", "hbd_standby", webKey}
	for _, tc := range []struct {
		name    string
		word    []string // node2's last announcement's hbd_failed and hbd_standby
		timeout time.Duration
		// reloadAt: node1 reloads then (0: never): after node2's last
		// word, while node2 is alive or once it is dead.
		reloadAt time.Duration
		gen      uint64 // node2's generation when heard again
		callOff  bool
	}{
		{"failed there", failed, 0, 0, gen2, false},
		{"stands by for it", standby, 0, 0, gen2, true},
		{"failed there, with a failure_timeout", failed, time.Minute, 0, gen2, true},
		{"failed there, restarted since", failed, 0, 0, gen2 + 1, true},
		{"failed there, node1 reloaded since (node2 dead)", failed, 0, 5 * time.Second, gen2, true},
		{"failed there, node1 reloaded since (node2 not yet dead)", failed, 0, time.Second, gen2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := groupConfig("node1", "node2", config.FailbackOn)
			c.Groups[0].FailureTimeout = tc.timeout
			h, _ := joinWithHeartbeatConfig(t, c)
			h.at(200 * time.Millisecond)
			kv := []string{"t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "1", "hbd_held", "",
				"hbd_want", webKey + ">node1", "hbd_epoch", "1", "hbd_seen", "node1:ffffffffffffffff"}
			acts := h.send(append(kv, tc.word...)...)
			if !hasAction(acts, StartGroup{Group: webKey}) {
				t.Fatalf("node2 does not take web and consents: node1 did not start it: %q", render(acts))
			}
			reload := func() {
				if tc.reloadAt != 0 {
					h.n.Step(Reconfigure{Now: t0.Add(tc.reloadAt), Config: groupConfig("node1", "node2", config.FailbackOn)})
				}
			}
			if tc.reloadAt != 0 && tc.reloadAt < 5*time.Second {
				if acts := advanceTo(h.n, t0.Add(tc.reloadAt)); has(logs(acts), "WARN: node node2: is dead") {
					t.Fatalf("node2 declared dead before node1's reload at %v: %q", tc.reloadAt, logs(acts))
				}
				reload()
			}
			acts = advanceTo(h.n, t0.Add(5*time.Second))
			if !has(logs(acts), "WARN: node node2: is dead") {
				t.Fatalf("node2 silent for 5 s: not declared dead: %q", logs(acts))
			}
			if tc.reloadAt == 5*time.Second {
				reload()
			}
			h.at(5100 * time.Millisecond)
			acts = h.n.Step(Receive{Now: h.now, Link: "eth0", Msg: peerMsg(tc.gen, 100, h.now, "t", "status", "st", "active", "dt", "1388", "protocol", "1")})
			got := actionsOf[AbandonStart](acts)
			if tc.callOff != (len(got) == 1) || len(got) > 1 {
				t.Fatalf("node2 heard again: abandons %v, want a call-off: %v; all: %q", got, tc.callOff, render(acts))
			}
			goesOn := has(logs(acts), "info: Start of resource group "+webKey+" goes on: node2, heard again, cannot hold it (it failed there, until hbd cleanup)")
			if goesOn == tc.callOff {
				t.Errorf("the line that says the start goes on: %v, want %v: %q", goesOn, !tc.callOff, logs(acts))
			}
			if gs, _ := h.n.Group(webKey); gs.State != GroupStarting {
				t.Errorf("web is %s, want starting (its start ends with its OpDone)", gs.State)
			}
		})
	}
}

// TestLastWordKept: the last word of a peer is its latest announcement
// before its death; a peer declared dead again without a new announcement
// keeps the one it had, a restart forgets it (a new run), and a peer that
// stopped gracefully and still held a group may hold only that group.
func TestLastWordKept(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node2", config.FailbackOn)
	n := h.n
	p := n.peerByName("node2")
	g := n.groupByKey(webKey)
	p.rsc = peerRsc{announced: true, hbd: true, failed: map[string]bool{webKey: true}}
	n.keepLastWord(p)
	if why := n.cannotHold(p, g); why == "" {
		t.Fatalf("web failed on node2 by its last word: cannotHold says it may hold it")
	}
	p.rsc = peerRsc{} // forgotten at its death; declared dead again, no word since
	n.keepLastWord(p)
	if why := n.cannotHold(p, g); why == "" {
		t.Errorf("declared dead again without a new word: the last word was lost")
	}
	p.gen++
	n.keepLastWord(p)
	if why := n.cannotHold(p, g); why != "" {
		t.Errorf("a new run of node2 kept its old run's word: %q", why)
	}
	p.rsc = peerRsc{announced: true, hbd: true, stopping: true, held: map[string]bool{"other": true}}
	n.keepLastWord(p)
	if why := n.cannotHold(p, g); why == "" {
		t.Errorf("node2 stopping gracefully, web not held: cannotHold says it may hold web")
	}
	p.rsc.held[webKey] = true
	n.keepLastWord(p)
	if why := n.cannotHold(p, g); why != "" {
		t.Errorf("node2 stopping gracefully and holding web: cannotHold says %q", why)
	}
	p.rsc = peerRsc{announced: true, failed: map[string]bool{webKey: true}} // a Heartbeat peer
	n.keepLastWord(p)
	if why := n.cannotHold(p, g); why != "" {
		t.Errorf("a Heartbeat peer's word: cannotHold says %q", why)
	}
}
