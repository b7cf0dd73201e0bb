package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// The tests here drive node1 (hbd) against node2 speaking Heartbeat 3.0.6:
// its messages carry no hbd_ fields, exactly as in the captures
// (hbd/wire/testdata/captures), so they show that a Heartbeat peer's story is understood.

const webKey = "IPaddr::10.99.0.100/24/eth0"

func groupConfig(this, pref string, fb config.AutoFailback) *config.Config {
	c := testConfig(this)
	c.AutoFailback = fb
	c.Groups = []config.Group{{Preferred: pref, Resources: []config.Resource{{Spec: webKey, Name: "IPaddr"}, {Spec: "webserver", Name: "webserver"}}}}
	return c
}

// hbPeer feeds node1 messages from a Heartbeat node2 (generation gen2).
type hbPeer struct {
	t   *testing.T
	n   *Node
	seq uint64
	now time.Time
}

func (h *hbPeer) send(kv ...string) []Action {
	h.seq++
	return h.n.Step(Receive{Now: h.now, Link: "eth0", Msg: peerMsg(gen2, h.seq, h.now, kv...)})
}

func (h *hbPeer) at(d time.Duration) { h.now = t0.Add(d) }

// joinWithHeartbeat boots node1 with one group preferred by pref, answers
// its probe (stopped), and lets a Heartbeat node2 join as in the startup
// capture: status init/up, repnodes, starting, resource rsc_hold=none
// isstable=0.
func joinWithHeartbeat(t *testing.T, pref string, fb config.AutoFailback) (*hbPeer, []Action) {
	t.Helper()
	return joinWithHeartbeatConfig(t, groupConfig("node1", pref, fb))
}

// joinWithHeartbeatConfig is joinWithHeartbeat with node1's configuration
// given: every group's probe is answered (stopped).
func joinWithHeartbeatConfig(t *testing.T, c *config.Config) (*hbPeer, []Action) {
	t.Helper()
	n := New(Options{Config: c, UUID: uuid1, Generation: 0x6b02633b, Now: t0})
	acts := n.Step(Tick{Now: t0, Load: testLoad})
	h := &hbPeer{t: t, n: n}
	h.at(10 * time.Millisecond)
	for _, g := range c.Groups {
		if !hasAction(acts, ProbeGroup{Group: g.Key()}) {
			t.Fatalf("boot: no probe of %s: %q", g.Key(), render(acts))
		}
		n.Step(OpDone{Now: h.now, Group: g.Key(), Op: OpProbe, Result: ResultStopped})
	}
	h.send("t", "status", "st", "init", "dt", "1388", "protocol", "1")
	h.send("t", "status", "st", "up", "dt", "1388", "protocol", "1")
	var all []Action
	all = append(all, h.send("dest", "node1", "t", "repnodes", "nodelist", "node1 node2 ", "delnodelist", " ")...)
	all = append(all, h.send("t", "status", "st", "active", "dt", "1388", "protocol", "1")...)
	all = append(all, h.send("t", "starting")...)
	all = append(all, h.send("t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0")...)
	if n.State() != StateActive {
		t.Fatalf("node1 did not join: %s", n.State())
	}
	return h, all
}

// hasAction reports whether acts holds an action of want's type for the
// same group (group actions compare by key: their Spec holds slices).
func hasAction(acts []Action, want Action) bool {
	for _, a := range acts {
		if actionKey(a) == actionKey(want) {
			return true
		}
	}
	return false
}

func actionKey(a Action) string {
	switch a := a.(type) {
	case StartGroup:
		return "start " + a.Group
	case StopGroup:
		return "stop " + a.Group
	case ProbeGroup:
		return "probe " + a.Group
	case PrepareGroup:
		return "prepare " + a.Group
	case Reannounce:
		return "reannounce " + a.Group
	}
	return fmt.Sprintf("%T", a)
}

// heartbeatFields renders the Heartbeat part of a message (no hbd_
// fields, no common fields).
func heartbeatFields(acts []Action, typ string) []string {
	var out []string
	for _, m := range sends(acts) {
		if m.Value("t") != typ {
			continue
		}
		var f []string
		for _, x := range m.Fields {
			if strings.HasPrefix(x.Name, "hbd_") || x.Name == "src" || x.Name == "srcuuid" || x.Name == "seq" || x.Name == "hg" || x.Name == "ts" || x.Name == "ld" || x.Name == "ttl" {
				continue
			}
			f = append(f, x.Name+"="+string(x.Value))
		}
		out = append(out, strings.Join(f, " "))
	}
	return out
}

func TestHeartbeatPeerJoinsAndHbdTakesItsOwnGroup(t *testing.T) {
	_, acts := joinWithHeartbeat(t, "node1", config.FailbackOn)
	if !hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatalf("node1 did not start its group: %q", render(acts))
	}
	got := heartbeatFields(acts, "resource")
	if len(got) == 0 || got[0] != "t=resource rsc_hold=none rtype=full isstable=1" {
		t.Errorf("first resource message: %q", got)
	}
}

func TestHeartbeatPeerHoldsItsGroupNothingStarts(t *testing.T) {
	h, acts := joinWithHeartbeat(t, "node2", config.FailbackOn)
	acts = append(acts, h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")...)
	for _, a := range acts {
		if _, ok := a.(StartGroup); ok {
			t.Fatalf("node1 started node2's group: %q", render(acts))
		}
	}
	if gs, _ := h.n.Group(webKey); gs.Holder != "node2" || gs.Desired != "node2" {
		t.Errorf("status: %+v", gs)
	}
}

// Heartbeat's failback, initiated by the holder, as the captures in
// hbd/wire/testdata/captures show it: node2 holds node1's group when node1 (hbd) joins.
func TestHeartbeatHolderFailsBackToHbd(t *testing.T) {
	h := heartbeatHolder(t)
	n := h.n
	acts := h.send("t", "ask_resources", "rsc_hold", "foreign", "info", "me")
	wantLogs(t, acts, "info: node2 wants to go standby [foreign]")
	if got := heartbeatFields(acts, "ask_resources"); len(got) != 1 || got[0] != "t=ask_resources rsc_hold=foreign info=other" {
		t.Errorf("answer: %q", got)
	}
	h.at(800 * time.Millisecond)
	acts = h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "0", "info", "standby")
	if hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatal("started before node2's ask_resources info=done")
	}
	acts = h.send("t", "ask_resources", "rsc_hold", "foreign", "info", "done")
	if !hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatalf("no start after done: %q", render(acts))
	}
	if !has(logs(acts), "info: standby: acquire [foreign] resources from node2") {
		t.Errorf("logs: %q", logs(acts))
	}
	h.at(time.Second)
	acts = n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultOK})
	want := []string{"t=resource rsc_hold=local rtype=full isstable=1", "t=ask_resources rsc_hold=foreign info=done"}
	got := append(heartbeatFields(acts, "resource"), heartbeatFields(acts, "ask_resources")...)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("after the acquisition:\n got %q\nwant %q", got, want)
	}
	if !has(logs(acts), "info: Standby resource acquisition done [foreign].") || !has(logs(acts), "info: Initial resource acquisition complete (auto_failback)") {
		t.Errorf("logs: %q", logs(acts))
	}
}

// heartbeatHolder boots node1 (hbd) with its own group, which a
// Heartbeat node2, active, holds (rsc_hold=all isstable=1); the clock is
// at 400 ms.
func heartbeatHolder(t *testing.T) *hbPeer {
	t.Helper()
	n := New(Options{Config: groupConfig("node1", "node1", config.FailbackOn), UUID: uuid1, Generation: 0x6b02633b, Now: t0})
	n.Step(Tick{Now: t0, Load: testLoad})
	h := &hbPeer{t: t, n: n}
	h.at(10 * time.Millisecond)
	n.Step(OpDone{Now: h.now, Group: webKey, Op: OpProbe, Result: ResultStopped})
	h.send("t", "status", "st", "active", "dt", "bb8", "protocol", "1")
	h.send("dest", "node1", "t", "repnodes", "nodelist", "node1 node2 ", "delnodelist", " ")
	acts := h.send("t", "resource", "rsc_hold", "all", "rtype", "full", "isstable", "1")
	if hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatal("node1 started a group node2 holds")
	}
	h.at(400 * time.Millisecond)
	return h
}

// hbd holds a Heartbeat node's group (it had died) and gives it back when
// the node returns: hbd initiates, as Heartbeat's holder does.
func TestHbdHolderFailsBackToHeartbeat(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node2", config.FailbackOn)
	n := h.n
	// node2 dies: deadtime after its last packet, node1 takes over.
	acts := advanceTo(n, h.now.Add(3100*time.Millisecond))
	if !hasAction(acts, StartGroup{Group: webKey}) || !has(logs(acts), "info: Taking over resource group "+webKey+" (from node2)") {
		t.Fatalf("takeover: %q", render(acts))
	}
	h.now = n.now
	acts = n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultOK})
	if got := heartbeatFields(acts, "resource"); len(got) != 1 || got[0] != "t=resource rsc_hold=foreign info=mach_down" {
		t.Errorf("mach_down message: %q", got)
	}
	if !has(logs(acts), "info: mach_down takeover complete for node node2.") {
		t.Errorf("logs: %q", logs(acts))
	}
	// node2 restarts (new generation) and joins.
	h.seq = 0
	const gen3 = gen2 + 1
	step := func(kv ...string) []Action {
		h.seq++
		return n.Step(Receive{Now: h.now, Link: "eth0", Msg: peerMsg(gen3, h.seq, h.now, kv...)})
	}
	step("t", "status", "st", "init", "dt", "1388", "protocol", "1")
	step("t", "status", "st", "active", "dt", "1388", "protocol", "1")
	step("t", "starting")
	acts = step("t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0")
	if got := heartbeatFields(acts, "ask_resources"); len(got) != 1 || got[0] != "t=ask_resources rsc_hold=foreign info=me" {
		t.Fatalf("failback request: %q (%q)", got, render(acts))
	}
	wantIn(t, logs(acts), "info: node1 wants to go standby [foreign]")
	acts = step("t", "ask_resources", "rsc_hold", "foreign", "info", "other")
	if !hasAction(acts, StopGroup{Group: webKey}) {
		t.Fatalf("no release: %q", render(acts))
	}
	wantIn(t, logs(acts), "info: standby: node2 can take our foreign resources")
	acts = n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStop, Result: ResultOK})
	want := []string{"t=resource rsc_hold=local rtype=full isstable=0 info=standby", "t=ask_resources rsc_hold=foreign info=done"}
	got := append(heartbeatFields(acts, "resource"), heartbeatFields(acts, "ask_resources")...)
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("release:\n got %q\nwant %q", got, want)
	}
	acts = step("t", "ask_resources", "rsc_hold", "foreign", "info", "done")
	wantIn(t, logs(acts), "info: Other node completed standby takeover of foreign resources.")
}

func wantIn(t *testing.T, got []string, want string) {
	t.Helper()
	if !has(got, want) {
		t.Errorf("no %q in %q", want, got)
	}
}

// A Heartbeat peer's graceful stop: resource rsc_hold=none info=shutdown
// (sent before its groups stop: hb_giveup_resources), then shutdone once
// they are down: node1 takes its group at the shutdone, without waiting
// for deadtime, and not before.
func TestHeartbeatShutdownIsTakenOverAtOnce(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node2", config.FailbackOn)
	h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")
	h.at(time.Second)
	acts := h.send("t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0", "info", "shutdown")
	if hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatalf("took over on the shutdown notice, while node2 still stops its group: %q", render(acts))
	}
	wantIn(t, logs(acts), "info: Resources being acquired from node2.")
	h.at(1500 * time.Millisecond)
	acts = h.send("t", "shutdone", "st", "dead")
	wantIn(t, logs(acts), "info: Received shutdown notice from 'node2'.")
	if !hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatalf("no takeover at the shutdone: %q", render(acts))
	}
}

// hb_takeover from a Heartbeat peer: node1 stands by for the complement
// and hands the group over with Heartbeat's handshake.
func TestHeartbeatTakeoverRequest(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node1", config.FailbackOn)
	n := h.n
	n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultOK})
	h.at(2 * time.Second)
	acts := h.send("t", "hb_takeover", "rsc_hold", "all")
	if got := heartbeatFields(acts, "ask_resources"); len(got) != 1 || got[0] != "t=ask_resources rsc_hold=local info=me" {
		t.Fatalf("standby request: %q (%q)", got, render(acts))
	}
	acts = h.send("t", "ask_resources", "rsc_hold", "local", "info", "other")
	if !hasAction(acts, StopGroup{Group: webKey}) {
		t.Fatalf("no release: %q", render(acts))
	}
	if hasAction(acts, PrepareGroup{Group: webKey}) {
		t.Errorf("the releasing node prepared the group's start: %q", render(acts))
	}
	if gs, _ := n.Group(webKey); !gs.Standby {
		t.Errorf("not standing by: %+v", gs)
	}
}

// Commands: standby and takeover send Heartbeat's messages.
func TestCommandsSendHeartbeatMessages(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node1", config.FailbackOn)
	n := h.n
	n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultOK})
	acts := n.Step(Command{Now: h.now, Kind: CmdStandby, Which: "failback"})
	if len(heartbeatFields(acts, "ask_resources")) != 0 {
		t.Errorf("standby foreign with no foreign group held sent %q", heartbeatFields(acts, "ask_resources"))
	}
	acts = n.Step(Command{Now: h.now, Kind: CmdStandby, Which: ""})
	if got := heartbeatFields(acts, "ask_resources"); len(got) != 1 || got[0] != "t=ask_resources rsc_hold=all info=me" {
		t.Errorf("standby: %q", got)
	}
	acts = n.Step(Command{Now: h.now, Kind: CmdTakeover, Which: "local"})
	if got := heartbeatFields(acts, "hb_takeover"); len(got) != 1 || got[0] != "t=hb_takeover rsc_hold=local" {
		t.Errorf("takeover: %q", got)
	}
	acts = n.Step(Command{Now: h.now, Kind: CmdStandby, Which: "bogus"})
	wantIn(t, logs(acts), "ERROR: standby: unknown resource class [bogus] (all, foreign, failback or local)")
}

// Boot: a group found running is released before the node joins; the
// node does not join before the stop is done.
func TestReleaseBeforeJoin(t *testing.T) {
	n := New(Options{Config: groupConfig("node1", "node1", config.FailbackOn), UUID: uuid1, Generation: 0x6b02633b, Now: t0})
	n.Step(Tick{Now: t0, Load: testLoad})
	at := t0.Add(10 * time.Millisecond)
	acts := n.Step(OpDone{Now: at, Group: webKey, Op: OpProbe, Result: ResultRunning})
	if !hasAction(acts, StopGroup{Group: webKey}) {
		t.Fatalf("no release: %q", render(acts))
	}
	wantIn(t, logs(acts), "WARN: Resource group "+webKey+" is running, but this node did not start it (its daemon was restarted?): releasing it before joining the cluster")
	// initdead passes (node2 never heard): still not joined while the
	// stop runs.
	advanceTo(n, t0.Add(11*time.Second))
	if n.State() == StateActive {
		t.Fatal("joined before the release finished")
	}
	acts = n.Step(OpDone{Now: t0.Add(11 * time.Second), Group: webKey, Op: OpStop, Result: ResultOK})
	if n.State() != StateActive || !hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatalf("after the release: %s %q", n.State(), render(acts))
	}
}

// A late or duplicate OpDone is ignored; an unknown group is logged.
func TestStrayOpDone(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node1", config.FailbackOn)
	n := h.n
	if acts := n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStop, Result: ResultOK}); hasAction(acts, StartGroup{Group: webKey}) {
		t.Errorf("stray stop result acted on: %q", render(acts))
	}
	if gs, _ := n.Group(webKey); gs.State != GroupStarting {
		t.Errorf("state %s", gs.State)
	}
	acts := n.Step(OpDone{Now: h.now, Group: "nope", Op: OpStart, Result: ResultOK})
	wantIn(t, logs(acts), "WARN: Result of start for unknown resource group nope ignored")
}

// Graceful stop waits for a stop-failed group until cleanup.
func TestStopWaitsForStopFailed(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node1", config.FailbackOn)
	n := h.n
	n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultOK})
	acts := n.Step(Stop{Now: h.now})
	if !hasAction(acts, StopGroup{Group: webKey}) {
		t.Fatalf("stop: %q", render(acts))
	}
	acts = n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStop, Result: ResultStopFailed, Detail: "exit 1"})
	if hasAction(acts, Exit{}) {
		t.Fatal("exited with a group that may still run")
	}
	wantIn(t, logs(acts), "CRIT: Resource group "+webKey+" failed to stop (exit 1): it may still run here; no node will start it until an operator runs hbd cleanup")
	if acts := n.Step(Stop{Now: h.now}); hasAction(acts, Exit{}) || hasAction(acts, StopGroup{Group: webKey}) {
		t.Errorf("second stop: %q", render(acts))
	}
	acts = n.Step(Command{Now: h.now, Kind: CmdCleanup, Which: webKey})
	if !hasAction(acts, StopGroup{Group: webKey}) {
		t.Fatalf("cleanup: %q", render(acts))
	}
	acts = n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStop, Result: ResultOK})
	if !hasAction(acts, Exit{}) {
		t.Fatalf("no exit: %q", render(acts))
	}
	if got := heartbeatFields(acts, "resource"); len(got) != 1 || got[0] != "t=resource rsc_hold=none rtype=full isstable=0 info=shutdown" {
		t.Errorf("shutdown message: %q", got)
	}
	if got := heartbeatFields(acts, "shutdone"); len(got) != 1 || got[0] != "t=shutdone st=dead" {
		t.Errorf("shutdone: %q", got)
	}
}

// hb_standby on a Heartbeat node holding its own group (auto_failback
// on): node1 answers, takes the group after the peer's done even though
// the peer said isstable=1 in between (Heartbeat does, when our
// announcement makes it see us stable), keeps it (the peer stands by, its
// preference notwithstanding), and answers with its own done; the peer's
// hb_takeover ends the standby.
func TestHeartbeatPeerStandbyIsCompleted(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node2", config.FailbackOn)
	n := h.n
	h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")
	h.at(2 * time.Second)
	acts := h.send("t", "ask_resources", "rsc_hold", "all", "info", "me")
	if got := heartbeatFields(acts, "ask_resources"); len(got) != 1 || got[0] != "t=ask_resources rsc_hold=all info=other" {
		t.Fatalf("answer: %q", got)
	}
	acts = append(h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1"),
		h.send("t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0", "info", "standby")...)
	if hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatal("started before the peer's done")
	}
	acts = h.send("t", "ask_resources", "rsc_hold", "all", "info", "done")
	if !hasAction(acts, StartGroup{Group: webKey}) {
		t.Fatalf("no start after the peer's done: %q", render(acts))
	}
	acts = n.Step(OpDone{Now: h.now, Group: webKey, Op: OpStart, Result: ResultOK})
	if got := heartbeatFields(acts, "ask_resources"); len(got) != 1 || got[0] != "t=ask_resources rsc_hold=all info=done" {
		t.Errorf("our done: %q", got)
	}
	acts = advanceTo(n, h.now.Add(time.Second))
	if hasAction(acts, StopGroup{Group: webKey}) || len(heartbeatFields(acts, "ask_resources")) != 0 {
		t.Errorf("handed the group back to the node standing by: %q", render(acts))
	}
	acts = h.send("t", "hb_takeover", "rsc_hold", "all")
	if got := heartbeatFields(acts, "ask_resources"); len(got) != 1 || got[0] != "t=ask_resources rsc_hold=foreign info=me" {
		t.Errorf("after the peer's hb_takeover: %q", got)
	}
}

// TestStandbyDoneWaitsForNewerMessages: a peer's ask_resources info=done
// that arrives resent, while a message the peer sent after it is still
// missing, starts nothing until that message comes: it may say the peer
// took the group back (it declared this node dead meanwhile). Once the
// missing message is an announcement holding the group, nothing starts;
// once the peer says it is lost for good (NS_nak_rexmit), the done stands.
func TestStandbyDoneWaitsForNewerMessages(t *testing.T) {
	for _, tc := range []struct {
		name      string
		missing   []string // what the missing message turns out to be (nil: lost)
		wantStart bool
	}{
		{"the peer took the group back", []string{"t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "0"}, false},
		{"the message is lost for good", nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := joinWithHeartbeat(t, "node2", config.FailbackOn)
			n := h.n
			h.send("t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1")
			h.at(2 * time.Second)
			h.send("t", "ask_resources", "rsc_hold", "all", "info", "me")
			h.send("t", "resource", "rsc_hold", "none", "rtype", "full", "isstable", "0", "info", "standby")
			done, took := h.seq+1, h.seq+2
			h.seq += 2 // the done and the next message are lost for now
			acts := h.send("t", "status", "st", "active", "dt", "1388", "protocol", "1")
			if hasAction(acts, StartGroup{Group: webKey}) {
				t.Fatalf("started before the peer's done: %q", render(acts))
			}
			acts = n.Step(Receive{Now: h.now, Link: "eth0", Msg: peerMsg(gen2, done, h.now, "t", "ask_resources", "rsc_hold", "all", "info", "done")})
			if hasAction(acts, StartGroup{Group: webKey}) {
				t.Fatalf("started on a resent done while a newer message is missing: %q", render(acts))
			}
			if tc.missing != nil {
				acts = n.Step(Receive{Now: h.now, Link: "eth0", Msg: peerMsg(gen2, took, h.now, tc.missing...)})
			} else {
				acts = n.Step(Receive{Now: h.now, Link: "eth0", Msg: peerMsg(gen2, 0, h.now, "t", "NS_nak_rexmit", "firstseq", fmt.Sprintf("%x", took), "dest", "node1", "info", "seqno too low")})
			}
			acts = append(acts, advanceTo(n, h.now.Add(500*time.Millisecond))...)
			if got := hasAction(acts, StartGroup{Group: webKey}); got != tc.wantStart {
				t.Errorf("start %v once the missing message is settled, want %v: %q", got, tc.wantStart, render(acts))
			}
		})
	}
}
