package cluster

import (
	"fmt"
	"hash/fnv"
	"strings"
	"testing"
	"time"
)

func TestBootSendsInitUpUp(t *testing.T) {
	n := newNode1()
	if got := n.NextTick(); !got.Equal(t0) {
		t.Fatalf("NextTick before boot = %v, want %v", got, t0)
	}
	acts := n.Step(Tick{Now: t0, Load: testLoad})
	u := fmt.Sprintf("%x", uuid1)
	want := []string{
		"send t=status st=init dt=1388 protocol=1 src=node1 srcuuid=" + u + " seq=1 hg=6b02633b ts=6b02633a ld=" + testLoad + " ttl=3",
		"send t=status st=up dt=1388 protocol=1 src=node1 srcuuid=" + u + " seq=2 hg=6b02633b ts=6b02633a ld=" + testLoad + " ttl=3",
		"info: Local status now set to: 'up'",
		"send t=status st=up dt=1388 protocol=1 src=node1 srcuuid=" + u + " seq=3 hg=6b02633b ts=6b02633a ld=" + testLoad + " ttl=3",
	}
	if got := render(acts); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("boot:\n got %q\nwant %q", got, want)
	}
	if s := sends(acts)[0]; s.Fields[5].Type != 1 || len(s.Fields[5].Value) != 16 {
		t.Errorf("srcuuid is not a 16-byte binary field: %+v", s.Fields[5])
	}
	if got := n.NextTick(); !got.Equal(t0.Add(time.Second)) {
		t.Errorf("NextTick = %v, want t0+1s", got)
	}
}

func TestStatusEveryKeepaliveAndDtAfterFiveSeconds(t *testing.T) {
	n := booted(t)
	var seqs, dts []string
	for i := 1; i <= 6; i++ {
		now := n.NextTick()
		if want := t0.Add(time.Duration(i) * time.Second); !now.Equal(want) {
			t.Fatalf("tick %d at %v, want %v", i, now, want)
		}
		for _, m := range sends(n.Step(Tick{Now: now})) {
			seqs = append(seqs, m.Value("seq"))
			dts = append(dts, m.Value("dt"))
		}
	}
	// seq 4..8 with dt=5000 ms (1388), then at +5 s the extra status with
	// the plain deadtime (bb8) and the periodic one.
	if got, want := strings.Join(seqs, ","), "4,5,6,7,8,9,a"; got != want {
		t.Errorf("seqs %s, want %s", got, want)
	}
	if got, want := strings.Join(dts, ","), "1388,1388,1388,1388,bb8,bb8,bb8"; got != want {
		t.Errorf("dts %s, want %s", got, want)
	}
}

func TestJoinReqnodesRepnodesStarting(t *testing.T) {
	n := booted(t)
	at := t0.Add(3 * time.Second)
	advanceTo(n, at)
	acts := n.Step(status2(gen2, 1, at, "init"))
	u2 := fmt.Sprintf("%x", uuid2)
	want := []string{
		fmt.Sprintf("keep generations map[node2:%d]", gen2),
		"info: Link node2:eth0 up.",
		"info: Status update for node node2: status init",
		"peer node2 init",
		"send t=reqnodes dest=node2 destuuid=" + u2 + " src=node1 srcuuid=" + fmt.Sprintf("%x", uuid1) + " seq=7 hg=6b02633b ts=6b02633d ld=" + testLoad + " ttl=3",
	}
	if got := render(acts); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("first packet:\n got %q\nwant %q", got, want)
	}
	wantLogs(t, n.Step(status2(gen2, 2, at, "up")), "info: Status update for node node2: status up")
	// node2 asks for our node list: we answer with dest first, as Heartbeat.
	acts = n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 3, at, "t", "reqnodes", "dest", "node1")})
	if m := sends(acts); len(m) != 1 || !strings.HasPrefix(fields(m[0]), "dest=node2 t=repnodes nodelist=node1 node2  delnodelist=  destuuid="+u2+" src=node1 ") {
		t.Fatalf("repnodes: %q", render(acts))
	}
	acts = n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 4, at, "dest", "node1", "t", "repnodes", "nodelist", "node1 node2 ", "delnodelist", " ")})
	got := render(acts)
	if len(got) != 4 || got[0] != "info: Comm_now_up(): updating status to active" ||
		!strings.HasPrefix(got[1], "send t=status st=active dt=1388 protocol=1 src=node1") ||
		got[2] != "info: Local status now set to: 'active'" ||
		!strings.HasPrefix(got[3], "send t=starting src=node1 ") {
		t.Fatalf("comm up:\n%s", strings.Join(got, "\n"))
	}
	if s := n.Status(); s.State != StateActive || s.Peers[0].State != StateUp {
		t.Errorf("status %+v", s)
	}
}

func TestReqnodesRetriedEverySecond(t *testing.T) {
	n := booted(t)
	n.Step(status2(gen2, 1, t0.Add(200*time.Millisecond), "up"))
	if got := n.NextTick(); !got.Equal(t0.Add(time.Second)) {
		t.Fatalf("NextTick %v", got)
	}
	var types []string
	for _, m := range sends(n.Step(Tick{Now: t0.Add(1200 * time.Millisecond)})) {
		types = append(types, m.Value("t"))
	}
	if got := strings.Join(types, ","); got != "status,reqnodes" {
		t.Errorf("at +1.2s sent %s, want status,reqnodes", got)
	}
}

func TestPeerDeadAfterDeadtime(t *testing.T) {
	n := joined(t)
	last := t0.Add(110 * time.Millisecond) // the repnodes, last packet heard
	if l := logs(advanceTo(n, last.Add(3*time.Second-time.Millisecond))); len(l) != 0 {
		t.Fatalf("before deadtime: %q", l)
	}
	if got := n.NextTick(); !got.Equal(last.Add(3 * time.Second)) {
		t.Fatalf("NextTick %v, want the deadline %v", got, last.Add(3*time.Second))
	}
	acts := n.Step(Tick{Now: n.NextTick()})
	wantLogs(t, acts, "WARN: node node2: is dead", "info: Link node2:eth0 dead.")
	s := n.Status().Peers[0]
	if s.State != StateDead || s.Links[0].State != LinkDead {
		t.Errorf("peer %+v", s)
	}
}

func TestNeverHeardDeadAfterInitdeadThenActive(t *testing.T) {
	n := booted(t)
	var all []string
	for now := n.NextTick(); now.Before(t0.Add(11 * time.Second)); now = n.NextTick() {
		all = append(all, logs(n.Step(Tick{Now: now}))...)
		if now.Before(t0.Add(10*time.Second)) && len(all) > 0 {
			t.Fatalf("logs before initdead at %v: %q", now.Sub(t0), all)
		}
	}
	want := []string{"WARN: node node2: is dead", "info: Comm_now_up(): updating status to active", "info: Local status now set to: 'active'"}
	if strings.Join(all, "\n") != strings.Join(want, "\n") {
		t.Errorf("got %q want %q", all, want)
	}
}

func TestLateHeartbeat(t *testing.T) {
	cases := []struct {
		gap  time.Duration
		want []string
	}{
		{1900 * time.Millisecond, nil},
		{2000 * time.Millisecond, nil},
		{2001 * time.Millisecond, []string{"WARN: Late heartbeat: Node node2: interval 2001 ms"}},
		{3000 * time.Millisecond, []string{"WARN: Late heartbeat: Node node2: interval 3000 ms"}},
		{3500 * time.Millisecond, []string{"CRIT: Late heartbeat: Node node2: interval 3500 ms (> deadtime)"}},
	}
	for _, c := range cases {
		t.Run(c.gap.String(), func(t *testing.T) {
			n := booted(t)
			a := t0.Add(time.Second)
			n.Step(Tick{Now: a})
			n.Step(status2(gen2, 1, a, "up"))
			b := a.Add(c.gap)
			// Time for this node passes without a dead declaration when
			// the tick comes before b (we feed the receive directly).
			acts := n.Step(status2(gen2, 2, b, "up"))
			var got []string
			for _, l := range logs(acts) {
				if strings.Contains(l, "Late heartbeat") {
					got = append(got, l)
				}
			}
			if strings.Join(got, "|") != strings.Join(c.want, "|") {
				t.Errorf("got %q want %q", got, c.want)
			}
			if p := n.Status().Peers[0]; p.WorstInterval != c.gap || p.Late != uint64(len(c.want)) {
				t.Errorf("worst %v late %d", p.WorstInterval, p.Late)
			}
		})
	}
}

func TestRestartNewGeneration(t *testing.T) {
	n := joined(t)
	// node2 crashes, is declared dead, comes back with hg+1 and seq 1.
	at := t0.Add(8 * time.Second)
	advanceTo(n, at)
	acts := n.Step(status2(gen2+1, 1, at, "init"))
	wantLogs(t, acts, "info: Heartbeat restart on node node2", "info: Link node2:eth0 up.", "info: Status update for node node2: status init")
	wantLogs(t, n.Step(status2(gen2+1, 2, at, "up")), "info: Status update for node node2: status up")
	if p := n.Status().Peers[0]; p.Generation != gen2+1 || p.Seq != 2 || p.State != StateUp {
		t.Errorf("after restart %+v", p)
	}
	// A packet of the old generation is now stale.
	acts = n.Step(status2(gen2, 50, at, "active"))
	wantLogs(t, acts, fmt.Sprintf("ERROR: should_drop_message: attempted replay attack [node2]? [gen = %d, curgen = %d]", gen2, gen2+1))
	// ... and logged once per minute only, but always counted.
	advanceTo(n, at.Add(30*time.Second))
	wantLogs(t, n.Step(status2(gen2, 51, at.Add(30*time.Second), "active")))
	if d := n.Status().Peers[0].Dropped["stale-generation"]; d != 2 {
		t.Errorf("stale drops %d", d)
	}
}

func TestRestartWhileAliveIsSeenAtOnce(t *testing.T) {
	n := joined(t)
	at := t0.Add(time.Second)
	acts := n.Step(status2(gen2+1, 1, at, "init"))
	wantLogs(t, acts, "info: Heartbeat restart on node node2", "info: Status update for node node2: status init")
}

func TestGapLostNoPktsMissingAndRexmitRequest(t *testing.T) {
	n := joined(t) // node2 seq 1..3 seen
	at := t0.Add(500 * time.Millisecond)
	for s := uint64(4); s <= 27; s++ {
		n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, s, at, "t", "resource")})
	}
	acts := n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 29, at, "t", "resource")})
	wantLogs(t, acts, "WARN: 1 lost packet(s) for [node2] [27:29]")
	p := n.Status().Peers[0]
	if p.Lost != 1 || p.Missing != 1 {
		t.Fatalf("lost %d missing %d", p.Lost, p.Missing)
	}
	// The request for 28 goes out after the deterministic delay, with
	// decimal firstseq/lastseq, and again every RexmitInterval.
	req := n.NextTick()
	if d := req.Sub(at); d < 0 || d >= RexmitInterval {
		t.Fatalf("first request after %v", d)
	}
	var got []string
	for _, m := range sends(n.Step(Tick{Now: req})) {
		if m.Value("t") == "NS_rexmit" {
			got = append(got, fields(m))
		}
	}
	want := "t=NS_rexmit dest=node2 firstseq=28 lastseq=28 destuuid=" + fmt.Sprintf("%x", uuid2) + " src=node1 srcuuid=" + fmt.Sprintf("%x", uuid1) + " hg=6b02633b ts=6b02633a ttl=3"
	if len(got) != 1 || got[0] != want {
		t.Fatalf("rexmit request:\n got %q\nwant %q", got, want)
	}
	if next := n.NextTick(); !next.Equal(req.Add(RexmitInterval)) && next.After(req.Add(RexmitInterval)) {
		t.Errorf("next request at %v", next.Sub(req))
	}
	acts = n.Step(Receive{Now: req, Link: "eth0", Msg: peerMsg(gen2, 28, at, "t", "ask_resources")})
	wantLogs(t, acts, "info: No pkts missing from node2!")
	if p := n.Status().Peers[0]; p.Recovered != 1 || p.Missing != 0 || p.Seq != 29 {
		t.Errorf("after recovery %+v", p)
	}
	// 28 again is a replay now.
	n.Step(Receive{Now: req, Link: "eth0", Msg: peerMsg(gen2, 28, at, "t", "ask_resources")})
	if d := n.Status().Peers[0].Dropped["replay"]; d != 1 {
		t.Errorf("replay drops %d", d)
	}
}

func TestHugeGapNotAskedFor(t *testing.T) {
	n := joined(t)
	acts := n.Step(Receive{Now: t0.Add(time.Second), Link: "eth0", Msg: peerMsg(gen2, 3+SeqGap+2, t0, "t", "resource")})
	wantLogs(t, acts, fmt.Sprintf("WARN: %d lost packet(s) for [node2] [3:%d]", SeqGap+1, SeqGap+5), "ERROR: lost a lot of packets!")
	if p := n.Status().Peers[0]; p.Missing != 0 {
		t.Errorf("missing %d", p.Missing)
	}
}

func TestNakRemovesMissing(t *testing.T) {
	n := joined(t)
	at := t0.Add(time.Second)
	n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 5, at, "t", "resource")})
	acts := n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 0, at, "t", "NS_nak_rexmit", "firstseq", "4", "dest", "node1", "info", "seqno too low")})
	wantLogs(t, acts, "ERROR: Irretrievably lost packet: node node2 seq 4", "info: No pkts missing from node2!")
}

func TestDuplicatesAndTwoLinks(t *testing.T) {
	n := booted(t, "eth0", "eth1")
	at := t0.Add(time.Second)
	n.Step(status2(gen2, 1, at, "up"))
	// The same packet on the second link: not a drop, the link is up.
	m := peerMsg(gen2, 1, at, "t", "status", "st", "up")
	acts := n.Step(Receive{Now: at, Link: "eth1", Msg: m})
	wantLogs(t, acts, "info: Link node2:eth1 up.")
	// The same packet again on the first link: a duplicate.
	n.Step(Receive{Now: at, Link: "eth0", Msg: m})
	p := n.Status().Peers[0]
	if p.Dropped["duplicate"] != 1 || len(p.Links) != 2 || p.Links[1].State != LinkUp {
		t.Errorf("peer %+v", p)
	}
	// eth1 silent for deadtime while eth0 carries on: only eth1 dies.
	var all []string
	for s := uint64(2); s <= 5; s++ {
		now := at.Add(time.Duration(s-1) * time.Second)
		all = append(all, logs(n.Step(Tick{Now: now}))...)
		all = append(all, logs(n.Step(status2(gen2, s, now, "up")))...)
	}
	if !has(all, "info: Link node2:eth1 dead.") || has(all, "WARN: node node2: is dead") {
		t.Errorf("logs %q", all)
	}
}

func TestRexmitServedFromHistory(t *testing.T) {
	n := joined(t)
	at := t0.Add(time.Second)
	advanceTo(n, at.Add(300*time.Millisecond))
	ask := func(now time.Time, first, last string) []string {
		return render(n.Step(Receive{Now: now, Link: "eth0", Msg: peerMsg(gen2, 0, now, "t", "NS_rexmit", "dest", "node1", "firstseq", first, "lastseq", last)}))
	}
	got := ask(at, "2", "2")
	if len(got) != 1 || !strings.HasPrefix(got[0], "send t=status st=up dt=1388 protocol=1 src=node1") || !strings.Contains(got[0], " seq=2 ") {
		t.Fatalf("resend: %q", got)
	}
	if got := ask(at.Add(100*time.Millisecond), "2", "2"); len(got) != 0 {
		t.Errorf("resent twice within %v: %q", RexmitGuard, got)
	}
	if got := ask(at.Add(300*time.Millisecond), "2", "2"); len(got) != 1 {
		t.Errorf("not resent after the guard: %q", got)
	}
	got = ask(at, "99", "99")
	if len(got) != 1 || !strings.HasPrefix(got[0], "WARN: Rexmit of seq 99 requested.") {
		t.Errorf("too high: %q", got)
	}
	got = ask(at, "x", "2")
	if len(got) != 1 || got[0] != "ERROR: Invalid rexmit seqnos from node2" {
		t.Errorf("bad request: %q", got)
	}
}

func TestRexmitNakWhenHistoryRolledOver(t *testing.T) {
	n := joined(t)
	now := t0
	for n.seq < HistorySize+10 {
		now = now.Add(time.Second)
		n.Step(Tick{Now: now})
		n.Step(status2(gen2, 3+uint64(now.Sub(t0)/time.Second), now, "active"))
	}
	acts := n.Step(Receive{Now: now, Link: "eth0", Msg: peerMsg(gen2, 0, now, "t", "NS_rexmit", "dest", "node1", "firstseq", "3", "lastseq", "3")})
	got := render(acts)
	if len(got) != 2 || got[0] != "ERROR: Cannot rexmit pkt 3 for node2: seqno too low" || !strings.HasPrefix(got[1], "send t=NS_nak_rexmit firstseq=3 dest=node2 info=seqno too low destuuid=") {
		t.Errorf("nak: %q", got)
	}
}

func TestAckEveryTenMessages(t *testing.T) {
	n := booted(t)
	trig := n.peers[0].ackTrigger
	at := t0.Add(time.Second)
	var acked []string
	for s := uint64(1); s <= 30; s++ {
		for _, m := range sends(n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, s, at, "t", "status", "st", "up")})) {
			if m.Value("t") == "NS_ackmsg" {
				if m.Value("dest") != "node2" || m.Value("seq") != "" || m.Value("ld") != "" {
					t.Errorf("ack fields %s", fields(m))
				}
				acked = append(acked, m.Value("ackseq"))
			}
		}
	}
	var want []string
	for s := uint64(1); s <= 30; s++ {
		if s%AckEvery == trig {
			want = append(want, fmt.Sprintf("%x", s))
		}
	}
	if strings.Join(acked, ",") != strings.Join(want, ",") {
		t.Errorf("acked %v, want %v (trigger %d)", acked, want, trig)
	}
	// An ack from the peer is recorded; seqs it covers are not resent.
	n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 0, at, "t", "NS_ackmsg", "dest", "node1", "ackseq", "3")})
	if got := render(n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 0, at, "t", "NS_rexmit", "dest", "node1", "firstseq", "2", "lastseq", "3")})); len(got) != 0 {
		t.Errorf("resent acked seqs: %q", got)
	}
}

func TestShutdoneIsDeadAtOnce(t *testing.T) {
	n := joined(t)
	at := t0.Add(time.Second)
	acts := n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 4, at, "t", "shutdone", "st", "dead")})
	wantLogs(t, acts, "info: Received shutdown notice from 'node2'.", "WARN: node node2: is dead")
	if st, _, _ := n.PeerView("node2"); st != StateDead {
		t.Errorf("state %s", st)
	}
	// The link still dies deadtime after the last packet, logged then.
	wantLogs(t, advanceTo(n, at.Add(3*time.Second)), "info: Link node2:eth0 dead.")
}

func TestStopSendsShutdone(t *testing.T) {
	n := joined(t)
	acts := n.Step(Stop{Now: t0.Add(time.Second)})
	if m := sends(acts); len(m) != 1 || !strings.HasPrefix(fields(m[0]), "t=shutdone st=dead src=node1 ") {
		t.Fatalf("stop: %q", render(acts))
	}
	if acts := n.Step(Tick{Now: t0.Add(2 * time.Second)}); acts != nil || !n.NextTick().IsZero() {
		t.Errorf("acts after stop: %q", render(acts))
	}
}

func TestWrongDestHeardNotActedOn(t *testing.T) {
	n := booted(t)
	at := t0.Add(time.Second)
	acts := n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 1, at, "t", "reqnodes", "dest", "node3")})
	for _, m := range sends(acts) {
		if m.Value("t") == "repnodes" {
			t.Fatal("answered a reqnodes for node3")
		}
	}
	p := n.Status().Peers[0]
	if p.Dropped["wrong-dest"] != 1 || !p.LastHeard.Equal(at) || p.Seq != 1 {
		t.Errorf("peer %+v", p)
	}
}

func TestOwnAndUnknownNodes(t *testing.T) {
	n := booted(t)
	at := t0.Add(time.Second)
	advanceTo(n, at)
	own := peerMsg(gen2, 1, at, "t", "status", "st", "up")
	own.Set("src", "node1")
	if acts := n.Step(Receive{Now: at, Link: "eth0", Msg: own}); len(acts) != 0 {
		t.Errorf("own packet: %q", render(acts))
	}
	stranger := peerMsg(gen2, 1, at, "t", "status", "st", "up")
	stranger.Set("src", "node9")
	wantLogs(t, n.Step(Receive{Now: at, Link: "eth0", Msg: stranger}), "ERROR: process_status_message: bad node [node9] in message")
	advanceTo(n, at.Add(59*time.Second))
	wantLogs(t, n.Step(Receive{Now: at.Add(59 * time.Second), Link: "eth0", Msg: stranger}))
	advanceTo(n, at.Add(61*time.Second))
	wantLogs(t, n.Step(Receive{Now: at.Add(61 * time.Second), Link: "eth0", Msg: stranger}), "ERROR: process_status_message: bad node [node9] in message")
	s := n.Status()
	if s.Dropped["unknown-node"] != 3 || s.Peers[0].State != StateDead {
		t.Errorf("status %+v", s)
	}
}

func TestMalformed(t *testing.T) {
	cases := []struct {
		name string
		edit func(m map[string]string)
		log  string
	}{
		{"no type", func(m map[string]string) { delete(m, "t") }, "ERROR: process_clustermsg: missing from/ts/type from node2"},
		{"bad ts", func(m map[string]string) { m["ts"] = "zz" }, "ERROR: process_clustermsg: missing from/ts/type from node2"},
		{"bad seq", func(m map[string]string) { m["seq"] = "-1" }, "ERROR: should_drop_message: bad sequence number from node2"},
		{"no seq", func(m map[string]string) { delete(m, "seq") }, "ERROR: should_drop_message: bad sequence number from node2"},
		{"bad hg", func(m map[string]string) { m["hg"] = "q" }, "ERROR: should_drop_message: bad generation number from node2"},
		{"no st", func(m map[string]string) { delete(m, "st") }, "ERROR: HBDoMsg_T_STATUS: status update without st field from node2"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := booted(t)
			at := t0.Add(time.Second)
			f := map[string]string{"t": "status", "st": "up", "seq": "1", "hg": fmt.Sprintf("%x", gen2), "ts": fmt.Sprintf("%x", at.Unix())}
			c.edit(f)
			m := peerMsg(0, 0, at)
			m.Del("hg")
			m.Del("ts")
			for _, k := range []string{"t", "st", "seq", "hg", "ts"} {
				if v, ok := f[k]; ok {
					m.Set(k, v)
				}
			}
			acts := n.Step(Receive{Now: at, Link: "eth0", Msg: m})
			if got := logs(acts); !has(got, c.log) {
				t.Errorf("logs %q, want %q", got, c.log)
			}
			if st, _, _ := n.PeerView("node2"); st != StateUnknown && c.name != "no st" {
				t.Errorf("state changed to %s", st)
			}
			if n.Status().Peers[0].Dropped["malformed"] != 1 {
				t.Errorf("not counted")
			}
		})
	}
}

func TestStalledTickDeclaresNoOneDead(t *testing.T) {
	n := joined(t)
	// Our loop stalls 10 s: the next event is far past NextTick.
	resume := t0.Add(10 * time.Second)
	acts := n.Step(Tick{Now: resume})
	if has(logs(acts), "WARN: node node2: is dead") {
		t.Fatal("declared dead on the stalled tick")
	}
	if !strings.HasPrefix(logs(acts)[0], "WARN: Our own loop ran ") {
		t.Errorf("logs %q", logs(acts))
	}
	// node2's next status arrives within the grace: it stays alive.
	n.Step(status2(gen2, 4, resume.Add(500*time.Millisecond), "active"))
	for now := n.NextTick(); now.Before(resume.Add(3 * time.Second)); now = n.NextTick() {
		if has(logs(n.Step(Tick{Now: now})), "WARN: node node2: is dead") {
			t.Fatalf("declared dead at %v", now.Sub(resume))
		}
	}
	// A peer that stays silent is declared dead once the grace is over.
	m := joined(t)
	m.Step(Tick{Now: resume})
	if l := logs(advanceTo(m, resume.Add(StallGraceFactor*time.Second-time.Millisecond))); len(l) != 0 {
		t.Fatalf("during the grace: %q", l)
	}
	wantLogs(t, m.Step(Tick{Now: resume.Add(StallGraceFactor * time.Second)}), "WARN: node node2: is dead", "info: Link node2:eth0 dead.")
}

func TestReturnAfterPartition(t *testing.T) {
	n := joined(t)
	at := t0.Add(9 * time.Second)
	advanceTo(n, at) // node2 dead at +3.11 s
	// An old packet of node2 (seq <= last seen) does not revive it.
	n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 3, at, "t", "resource")})
	if st, _, _ := n.PeerView("node2"); st != StateDead {
		t.Fatalf("revived by an old packet: %s", st)
	}
	acts := n.Step(status2(gen2, 9, at, "active"))
	wantLogs(t, acts,
		"CRIT: Cluster node node2 returning after partition.",
		"WARN: Deadtime value may be too small.",
		"info: Link node2:eth0 up.",
		"CRIT: Late heartbeat: Node node2: interval 8900 ms (> deadtime)",
		"info: Status update for node node2: status active")
}

// TestDeterminism runs the same scripted events twice and compares a hash
// of every action; a different script gives a different hash.
func TestDeterminism(t *testing.T) {
	run := func(variant uint64) uint64 {
		n := booted(t, "eth0", "eth1")
		h := fnv.New64a()
		seq := uint64(0)
		now := t0
		for i := uint64(0); i < 400; i++ {
			now = now.Add(time.Duration(100+(i*37+variant)%300) * time.Millisecond)
			var ev Event
			switch (i*7 + variant) % 5 {
			case 0, 1:
				seq++
				if (i*13+variant)%11 == 0 {
					seq++ // a gap
				}
				ev = status2(gen2, seq, now, "up")
			case 2:
				ev = Receive{Now: now, Link: "eth1", Msg: peerMsg(gen2, seq/2+1, now, "t", "resource")}
			case 3:
				ev = Receive{Now: now, Link: "eth0", Msg: peerMsg(gen2, 0, now, "t", "NS_rexmit", "dest", "node1", "firstseq", fmt.Sprint(i%20+1), "lastseq", fmt.Sprint(i%20+3))}
			default:
				ev = Tick{Now: now, Load: testLoad}
			}
			for _, l := range render(n.Step(ev)) {
				h.Write([]byte(l + "\n"))
			}
		}
		return h.Sum64()
	}
	a, b, c := run(0), run(0), run(1)
	if a != b {
		t.Errorf("same events gave different actions: %x != %x", a, b)
	}
	if a == c {
		t.Errorf("different events gave the same hash %x (the test cannot tell)", a)
	}
}

func TestReorderedBeforeFirstSeqAcceptedOnce(t *testing.T) {
	n := booted(t)
	at := t0.Add(time.Second)
	n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, 6, at, "t", "reqnodes", "dest", "node3")})
	acts := n.Step(status2(gen2, 5, at, "up"))
	wantLogs(t, acts, "info: Status update for node node2: status up")
	n.Step(status2(gen2, 5, at, "up"))
	if d := n.Status().Peers[0].Dropped["replay"]; d != 1 {
		t.Errorf("second copy of seq 5: replay drops %d", d)
	}
}
