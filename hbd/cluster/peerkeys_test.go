package cluster

import (
	"maps"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// dbKey is a group node1 does not have until a reload adds it.
const dbKey = "IPaddr::10.99.0.101/24/eth0"

// withDB is groupConfig with db (preferred by pref) added.
func withDB(pref string) *config.Config {
	c := groupConfig("node1", "node2", config.FailbackOff)
	c.Groups = append(c.Groups, config.Group{Preferred: pref, Resources: []config.Resource{{Spec: dbKey, Name: "IPaddr"}}})
	return c
}

// live lets d pass from h.now with node2 alive (a status every 500 ms);
// it returns node1's actions.
func (h *hbPeer) live(d time.Duration) []Action {
	var acts []Action
	for end := h.now.Add(d); h.now.Before(end); {
		h.now = h.now.Add(500 * time.Millisecond)
		acts = append(acts, advanceTo(h.n, h.now)...)
		acts = append(acts, h.send("t", "status", "st", "active", "dt", "bb8", "protocol", "1")...)
	}
	return acts
}

// hbdAnnouncement is an hbd node2's resource message with these lists.
func hbdAnnouncement(held, starting, standby, failed, stuck, want string) []string {
	kv := []string{"t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1",
		"hbd_held", held, "hbd_standby", standby, "hbd_failed", failed, "hbd_want", want}
	if starting != "" {
		kv = append(kv, "hbd_starting", starting)
	}
	if stuck != "" {
		kv = append(kv, "hbd_stopfailed", stuck)
	}
	return kv
}

// TestPeerListsKeepConfiguredGroupsOnly: of an hbd peer's lists, only the
// groups configured here are kept, whatever else they name (keys of a
// configuration this node does not have, empty entries, a datagram's
// worth of names); that it listed other groups held is remembered as
// one bit.
func TestPeerListsKeepConfiguredGroupsOnly(t *testing.T) {
	many := strings.Repeat("x|", 4000)
	set := func(keys ...string) map[string]bool {
		m := make(map[string]bool)
		for _, k := range keys {
			m[k] = true
		}
		return m
	}
	cases := []struct {
		name                                   string
		held, starting, standby, failed, stuck string
		want                                   string
		wantHeld, wantStarting, wantStandby    map[string]bool
		wantFailed, wantStuck                  map[string]bool
		wantWant                               map[string]string
		other                                  bool
	}{
		{name: "configured only", held: webKey, starting: webKey, want: webKey + ">node1",
			wantHeld: set(webKey), wantStarting: set(webKey), wantWant: map[string]string{webKey: "node1"}},
		{name: "others beside", held: "|" + dbKey + "|" + webKey + "||zz", starting: "zz|" + webKey, standby: dbKey,
			failed: webKey + "|" + dbKey, stuck: dbKey, want: dbKey + ">node2|" + webKey + ">node2|q>",
			wantHeld: set(webKey), wantStarting: set(webKey), wantFailed: set(webKey),
			wantWant: map[string]string{webKey: "node2"}, other: true},
		{name: "others only", held: many + dbKey, starting: dbKey, standby: many, failed: many, stuck: many,
			want: strings.Repeat(dbKey+">node2|", 300), other: true},
		{name: "want naming a node not configured", held: "", want: webKey + ">node9",
			wantWant: map[string]string{webKey: ""}},
		{name: "want without a node", held: "", want: webKey + ">|>node1|" + webKey,
			wantWant: map[string]string{webKey: ""}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := joinWithHeartbeat(t, "node2", config.FailbackOff)
			h.at(time.Second)
			h.send(hbdAnnouncement(tc.held, tc.starting, tc.standby, tc.failed, tc.stuck, tc.want)...)
			r := &h.n.peerByName("node2").rsc
			for _, c := range []struct {
				what      string
				got, want map[string]bool
			}{{"held", r.held, tc.wantHeld}, {"starting", r.starting, tc.wantStarting}, {"standby", r.standby, tc.wantStandby},
				{"failed", r.failed, tc.wantFailed}, {"stuck", r.stuck, tc.wantStuck}} {
				if !maps.Equal(c.got, c.want) {
					t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
				}
			}
			if !maps.Equal(r.want, tc.wantWant) {
				t.Errorf("want: %q, want %q", r.want, tc.wantWant)
			}
			if r.heldOther != tc.other || r.holdsAny() != (tc.other || len(tc.wantHeld) > 0) {
				t.Errorf("heldOther %v holdsAny %v, want %v", r.heldOther, r.holdsAny(), tc.other)
			}
		})
	}
}

// TestReloadLearnsWhatPeersHoldOfNewGroups: a reload here adds db, which
// node2's announcements were not kept for. A Heartbeat node2 holds it by
// its hold class (as its next announcement would say); an hbd node2 that
// listed groups held that were not configured here is taken to hold it,
// one that listed none not. Either way an hbd node2 is asked to announce
// again, once, and its answer says what it holds. node1 never starts db
// while node2 may hold it.
func TestReloadLearnsWhatPeersHoldOfNewGroups(t *testing.T) {
	cases := []struct {
		name     string
		announce []string // node2's announcement before the reload
		dbPref   string
		mayHold  bool // node2 taken to hold db after the reload
		asked    bool // an hbd peer: named in hbd_ask
	}{
		{"hbd peer listing db", hbdAnnouncement(webKey+"|"+dbKey, "", "", "", "", webKey+">node2"), "node1", true, true},
		{"hbd peer listing another group", hbdAnnouncement(webKey+"|other", "", "", "", "", webKey+">node2"), "node1", true, true},
		{"hbd peer listing db as failed only", hbdAnnouncement(webKey, "", "", dbKey, "", webKey+">node2"), "node1", false, true},
		{"Heartbeat peer holding all", []string{"t", "resource", "rsc_hold", "all", "rtype", "full", "isstable", "1"}, "node1", true, false},
		{"Heartbeat peer holding its own, db not", []string{"t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1"}, "node1", false, false},
		{"Heartbeat peer holding its own, db too", []string{"t", "resource", "rsc_hold", "local", "rtype", "full", "isstable", "1"}, "node2", true, false},
		{"Heartbeat peer holding the others", []string{"t", "resource", "rsc_hold", "foreign", "rtype", "full", "isstable", "1"}, "node1", true, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h, _ := joinWithHeartbeat(t, "node2", config.FailbackOff)
			h.at(time.Second)
			h.send(tc.announce...)
			n := h.n
			p := n.peerByName("node2")
			if p.rsc.held[dbKey] {
				t.Fatal("db kept from an announcement before it was configured here")
			}
			h.at(2 * time.Second)
			acts := n.Step(Reconfigure{Now: h.now, Config: withDB(tc.dbPref)})
			if !hasAction(acts, ProbeGroup{Group: dbKey}) {
				t.Fatalf("reload: no probe of db: %q", render(acts))
			}
			if p.rsc.held[dbKey] != tc.mayHold {
				t.Errorf("after the reload node2 holds db: %v, want %v", p.rsc.held[dbKey], tc.mayHold)
			}
			acts = append(acts, n.Step(OpDone{Now: h.now, Group: dbKey, Op: OpProbe, Result: ResultStopped})...)
			acts = append(acts, h.live(3*time.Second)...)
			if tc.mayHold && hasAction(acts, StartGroup{Group: dbKey}) {
				t.Errorf("db started here while node2 may hold it: %q", groupActions(acts))
			}
			if !tc.mayHold && !tc.asked && tc.dbPref == "node1" && !hasAction(acts, StartGroup{Group: dbKey}) {
				t.Errorf("db not started though the Heartbeat node2 does not hold it: %q", groupActions(acts))
			}
			var asks int
			for _, m := range sends(acts) {
				if m.Value("t") == "resource" && m.Value("hbd_ask") == "node2" {
					asks++
				}
			}
			// Asked once, and again once two keepalives passed unanswered.
			if want := map[bool][]int{true: {1, 2}, false: {0, 0}}[tc.asked]; asks < want[0] || asks > want[1] {
				t.Errorf("node2 asked %d times in 3 s, want %d to %d", asks, want[0], want[1])
			}
			if !tc.asked {
				return
			}
			// node2 answers, having seen node1's latest announcement: it
			// holds web only, and wants db here.
			answer := append(hbdAnnouncement(webKey, "", "", "", "", webKey+">node2|"+dbKey+">node1"),
				"hbd_epoch", "1", "hbd_seen", "node1:"+wire.Hex(n.res.epoch))
			acts = h.send(answer...)
			if p.rsc.held[dbKey] || n.toAsk(p) {
				t.Errorf("after its answer: node2 holds db %v, asked %v", p.rsc.held[dbKey], n.toAsk(p))
			}
			acts = append(acts, h.live(3*time.Second)...)
			if tc.dbPref == "node1" && !hasAction(acts, StartGroup{Group: dbKey}) {
				t.Errorf("db not started once node2 said it does not hold it: %q", groupActions(acts))
			}
		})
	}
}

// TestReloadForgetsRemovedGroupsOfPeers: a reload removes web, which
// node2 holds and failed once: what node2 said of it is forgotten but
// that it holds a group (it may still run web: it has not reloaded yet),
// so that the peer's lists stay within this node's configuration.
func TestReloadForgetsRemovedGroupsOfPeers(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node2", config.FailbackOff)
	h.at(time.Second)
	h.send(hbdAnnouncement(webKey, webKey, webKey, webKey, webKey, webKey+">node2")...)
	r := &h.n.peerByName("node2").rsc
	if !r.held[webKey] || r.heldOther {
		t.Fatalf("before the reload: held %v, heldOther %v", r.held, r.heldOther)
	}
	c := groupConfig("node1", "node2", config.FailbackOff)
	c.Groups = nil
	h.at(2 * time.Second)
	h.n.Step(Reconfigure{Now: h.now, Config: c})
	for what, m := range map[string]int{"held": len(r.held), "starting": len(r.starting), "standby": len(r.standby),
		"failed": len(r.failed), "stuck": len(r.stuck), "want": len(r.want)} {
		if m != 0 {
			t.Errorf("%s: %d groups kept of a removed group", what, m)
		}
	}
	if !r.holdsAny() || r.gaveUp() {
		t.Errorf("node2 holds any %v, gave up %v: it may still run web", r.holdsAny(), r.gaveUp())
	}
}

// TestPeerListsReadInPlace: reading an announcement allocates no more
// when its lists name many groups and nodes this node does not have
// (hbd_held and the other group lists, hbd_want, hbd_ask, hbd_seen):
// they are read where they lie, and only what concerns this node is
// kept. Measured in bytes allocated per announcement, few names against
// 2000 of each.
func TestPeerListsReadInPlace(t *testing.T) {
	h, _ := joinWithHeartbeat(t, "node2", config.FailbackOff)
	p := h.n.peerByName("node2")
	seq := uint64(100)
	perAnnouncement := func(others int) uint64 {
		extra := strings.Repeat("other|", others)
		kv := append(hbdAnnouncement(extra+webKey, extra, extra, extra, extra, strings.Repeat("x>node2|", others)+webKey+">node2"),
			"hbd_ask", extra+"node3", "hbd_epoch", "1", "hbd_seen", strings.Repeat("nodeX:1|", others)+"node1:1")
		m := peerMsg(gen2, 1, h.now, kv...)
		const runs = 50
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range runs {
			seq++
			h.n.onResource(p, seq, m)
		}
		runtime.ReadMemStats(&after)
		return (after.TotalAlloc - before.TotalAlloc) / runs
	}
	perAnnouncement(1) // (first use: maps grown once)
	few, many := perAnnouncement(1), perAnnouncement(2000)
	if many > few+256 {
		t.Errorf("%d bytes allocated per announcement with 2000 names of each kind not configured here, %d with one", many, few)
	}
	if !p.rsc.held[webKey] || !p.rsc.heldOther || p.rsc.want[webKey] != "node2" || p.rsc.seenMe != 1 {
		t.Errorf("the configured group's entries were not read: %+v", p.rsc)
	}
}
