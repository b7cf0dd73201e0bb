package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// With quorum, a longer deadtime of a reload counts for the quorum only
// once the peers have heard it: a peer silent since just after the
// reload stops counting after the old deadtime (3 s), as the peers
// expect of this node should it be cut off, or after its own if longer
// (it said 5 s: it may have reloaded first); it is declared dead after
// the new one (6 s) all the same, and counts again once heard. After the
// hold (a new keepalive, the old deadtime and the peer's: 7 s, 9 s) the
// new one counts. Without quorum nothing is held.
func TestReconfigureLongerDeadtimeWithQuorum(t *testing.T) {
	for _, tc := range []struct {
		name   string
		quorum config.QuorumMode
		peerDT string        // the dt node2 says (hex ms)
		heard  bool          // node2 is heard through the hold, and silent after it
		hold   string        // the hold's log
		lost   time.Duration // the quorum lost this long after node2 was last heard (0: never before its death)
	}{
		{"quorum, silent at once", config.QuorumOn, "bb8", false, "for 7000 ms a peer silent for 3000 ms", 3 * time.Second},
		{"quorum, the peer's longer", config.QuorumOn, "1388", false, "for 9000 ms a peer silent for 3000 ms", 5 * time.Second},
		{"quorum, silent after the hold", config.QuorumOn, "bb8", true, "for 7000 ms a peer silent for 3000 ms", 0},
		{"no quorum", config.QuorumOff, "bb8", false, "", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := joined(t) // keepalive 1 s, deadtime 3 s
			c := *n.cfg
			c.Quorum = tc.quorum
			at := t0.Add(1 * time.Second)
			advanceTo(n, at)
			n.Step(Reconfigure{Now: at, Config: &c})
			status := func(seq uint64, at time.Time) {
				advanceTo(n, at)
				n.Step(Receive{Now: at, Link: "eth0", Msg: peerMsg(gen2, seq, at, "t", "status", "st", "active", "dt", tc.peerDT, "protocol", "1")})
			}
			heard := at.Add(100 * time.Millisecond)
			status(4, heard)
			c2 := c
			c2.Deadtime, c2.Initdead = 6*time.Second, 12*time.Second
			reload := heard.Add(10 * time.Millisecond)
			acts := n.Step(Reconfigure{Now: reload, Config: &c2})
			held := ""
			for _, l := range logs(acts) {
				if strings.Contains(l, "does not count for the quorum") {
					held = l
				}
			}
			if tc.hold == "" && held != "" || !strings.Contains(held, tc.hold) {
				t.Errorf("reload logs %q, want the hold %q", logs(acts), tc.hold)
			}
			seq := uint64(5)
			for k := 0; tc.heard && k < 8; k++ {
				heard = reload.Add(time.Duration(k)*time.Second + 100*time.Millisecond)
				status(seq, heard)
				seq++
			}
			// Silent from heard on: the quorum goes when it should, and node2
			// dies after the new deadtime all the same.
			var lostAt, deadAt time.Time
			for next := n.NextTick(); deadAt.IsZero() && next.Before(heard.Add(10*time.Second)); next = n.NextTick() {
				lg := logs(n.Step(Tick{Now: next}))
				if lostAt.IsZero() && !n.HasQuorum() {
					lostAt = next
				}
				if has(lg, "WARN: node node2: is dead") {
					deadAt = next
				}
				if tc.lost > 0 && !lostAt.IsZero() && deadAt.IsZero() {
					// Heard again before its death: it counts again.
					status(seq, next.Add(10*time.Millisecond))
					if !n.HasQuorum() {
						t.Errorf("node2 heard again at +%v: still no quorum", next.Sub(t0))
					}
					break
				}
			}
			if tc.lost > 0 {
				if got := lostAt.Sub(heard); lostAt.IsZero() || got < tc.lost || got > tc.lost+100*time.Millisecond {
					t.Errorf("quorum lost %v after node2 was last heard, want %v", got, tc.lost)
				}
				return
			}
			if got := deadAt.Sub(heard); deadAt.IsZero() || got < 6*time.Second || got > 6*time.Second+100*time.Millisecond {
				t.Errorf("node2 declared dead %v after it was last heard, want 6s", got)
			}
			if !lostAt.IsZero() && lostAt.Before(deadAt) {
				t.Errorf("quorum lost at +%v, before node2's death at +%v", lostAt.Sub(t0), deadAt.Sub(t0))
			}
		})
	}
}

// With quorum a node's status says the deadtime it applies in hbd_dt
// while dt carries Heartbeat's start bonus: the peers size their quorum
// wait by it, not by the bonus. Without quorum the status is Heartbeat's
// (TestBootSendsInitUpUp).
func TestStatusSaysDeadtimeDuringBonusWithQuorum(t *testing.T) {
	c := testConfig("node1")
	c.Quorum = config.QuorumOn
	n := New(Options{Config: c, UUID: uuid1, Generation: 0x6b02633b, Now: t0})
	first := sends(n.Step(Tick{Now: t0, Load: testLoad}))
	if len(first) == 0 || first[0].Value(wire.FDeadtime) != "1388" || first[0].Value(wire.FHbdDeadtime) != "bb8" {
		t.Fatalf("first status %q, want dt=1388 (3 s and the bonus) with hbd_dt=bb8", render([]Action{&Send{Msg: first[0]}}))
	}
	for _, m := range sends(advanceTo(n, t0.Add(StartBonusFor+time.Second))) {
		if m.Value(wire.FType) == wire.TStatus && m.Value(wire.FDeadtime) == "bb8" {
			if _, ok := m.Get(wire.FHbdDeadtime); ok {
				t.Errorf("status after the bonus says hbd_dt: %q", fields(m))
			}
			return
		}
	}
	t.Errorf("no status with dt=bb8 after the bonus")
}

// peerDeadtimeSaid takes hbd_dt over dt (an hbd node's dt may carry the
// start bonus, which it does not apply), dt alone from a Heartbeat node,
// and bounds what a peer says by this node's configuration: four times
// its deadtime (3 s), or its initdead (10 s) if longer.
func TestPeerDeadtimeSaid(t *testing.T) {
	n := joined(t)
	for _, tc := range []struct {
		name      string
		dt, hbdDT time.Duration
		want      time.Duration
	}{
		{"dt alone", 6 * time.Second, 0, 6 * time.Second},
		{"bonus with hbd_dt", 5 * time.Second, 3 * time.Second, 3 * time.Second},
		{"reload's longer old one", 2 * time.Second, 4 * time.Second, 4 * time.Second},
		{"beyond the bound", 13 * time.Second, 0, 12 * time.Second},
		{"absurd", 1 << 62, 0, 12 * time.Second},
		{"absurd hbd_dt", time.Second, 1 << 62, 12 * time.Second},
	} {
		if got := n.peerDeadtimeSaid(&peer{deadtime: tc.dt, hbdDT: tc.hbdDT}); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
	if got := addSat(1<<62, 1<<62); got != 1<<63-1 {
		t.Errorf("addSat overflowed: %v", got)
	}
}
