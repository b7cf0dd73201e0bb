package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// sentLine is one message a node sent, as the standing tests compare
// them: when, whether routine, every field.
func sentLine(at time.Time, from string, m *wire.Message, routine bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "+%s %s routine=%v", fmtSecs(at.Sub(t0)), from, routine)
	for _, f := range m.Fields {
		fmt.Fprintf(&b, " %s(%d)=%q", f.Name, f.Type, f.Value)
	}
	return b.String()
}

// TestStandingSameMessages: a pair whose holder sends its routine
// statuses by the standing order sends, for ten minutes, exactly the
// messages of a pair whose cores send every status themselves: the same
// fields, seqs, times and routine marks, on both nodes (every message is
// read as it arrives here, so nothing else moves either). The holder's
// order sent most of its statuses, and its core was stepped for fewer
// Ticks.
func TestStandingSameMessages(t *testing.T) {
	run := func(standing bool) ([]string, *sbNet) {
		s := newSBNetWith(t, []string{"node1", "node2"}, nil, standing)
		var out []string
		s.record = func(from string, m *wire.Message, routine bool) {
			out = append(out, sentLine(s.now, from, m, routine))
		}
		s.run(10 * time.Minute)
		return out, s
	}
	old, _ := run(false)
	got, s := run(true)
	n1 := s.nodes["node1"]
	if n1.fired < 500 {
		t.Errorf("node1's order sent %d statuses in 10 minutes at keepalive 1 s, want most of them", n1.fired)
	}
	if q := s.nodes["node2"].core.Status().Quiet; q == 0 {
		t.Error("node2 is not quiet")
	}
	for i := 0; i < max(len(old), len(got)); i++ {
		var o, g string
		if i < len(old) {
			o = old[i]
		}
		if i < len(got) {
			g = got[i]
		}
		if o != g {
			t.Fatalf("message %d of %d / %d differs:\nwithout the order: %s\nwith it:           %s", i, len(old), len(got), o, g)
		}
	}
}

// standingHolder is a pair with standing orders executed and routine
// messages read as the daemon reads them, run until node1's order
// stands beside its quiet peer.
func standingHolder(t *testing.T) *sbNet {
	t.Helper()
	s := newSBNetWith(t, []string{"node1", "node2"}, nil, true)
	s.routine = newSBRoutine()
	s.run(40 * time.Second)
	if !s.nodes["node1"].core.Standing() || s.nodes["node1"].fired == 0 {
		t.Fatalf("node1's order does not stand (sent %d)\n%s", s.nodes["node1"].fired, strings.Join(s.nodes["node1"].logs, "\n"))
	}
	return s
}

// TestStandingAtRest: with routine messages read as the daemon reads
// them, ten minutes beside a quiet peer make no death and no late
// heartbeat on either side; the holder's core is stepped for a Tick
// about once per status of its quiet peer, not once a keepalive, and
// reads its routine messages then; and
// every status the order sent among the newest HistorySize is in the
// holder's history byte for byte, which retransmissions are answered
// from.
func TestStandingAtRest(t *testing.T) {
	s := standingHolder(t)
	n1 := s.nodes["node1"]
	fired := map[uint64]*wire.Message{}
	s.record = func(from string, m *wire.Message, _ bool) {
		if from == "node1" {
			seq, _ := m.HexValue(wire.FSeq)
			fired[seq] = m.Clone()
		}
	}
	firedBefore, ticksBefore := n1.fired, s.routine.read["node1"]+s.routine.skipped["node1"]
	s.run(10 * time.Minute)
	wantNoDeath(t, s)
	sends, ticks := n1.fired-firedBefore, s.routine.read["node1"]+s.routine.skipped["node1"]-ticksBefore
	if sends < 590 {
		t.Errorf("node1's order sent %d statuses in 600 s, want about 600", sends)
	}
	if ticks > sends/4 {
		t.Errorf("node1's core was stepped for %d Ticks beside %d statuses of its order: want a few per quiet status of its peer", ticks, sends)
	}
	// What waits longest is the quiet peer's acknowledgement, read with
	// its next status: a Tick reads them all when that is due.
	if w := s.routine.maxWait["node1"]; w > 11*time.Second {
		t.Errorf("a routine message waited %v for node1, want no more than its quiet peer's status interval (10 s) and a keepalive", w)
	}
	n1.core.Sent(&n1.st)
	top := n1.core.seq
	for seq := top - HistorySize + 1; seq <= top; seq++ {
		m, ok := fired[seq]
		if !ok {
			continue // the core's own
		}
		e, _ := n1.core.sent(seq)
		if e == nil {
			t.Fatalf("seq %d not in the history (newest %d)", seq, top)
		}
		if !sameFields(e.msg.Fields, m.Fields) {
			t.Fatalf("seq %d kept as\n%s\nsent as\n%s", seq, sentLine(t0, "", e.msg, true), sentLine(t0, "", m, true))
		}
	}
}

// TestStandingEnds: an event that is not routine ends the order in its
// Step, before anything that Step sends, and the core's next message
// takes the seq after the order's last.
func TestStandingEnds(t *testing.T) {
	longer := func(c *config.Config) { c.Keepalive = 500 * time.Millisecond }
	for _, tc := range []struct {
		name string
		ev   func(s *sbNet) Event
	}{
		{"stop", func(s *sbNet) Event { return Stop{Now: s.now} }},
		{"standby", func(s *sbNet) Event { return Command{Now: s.now, Kind: CmdStandby, Which: "all"} }},
		{"node standby", func(s *sbNet) Event { return Command{Now: s.now, Kind: CmdNodeStandby} }},
		{"reload", func(s *sbNet) Event { return Reconfigure{Now: s.now, Config: sbConfig("node1", longer)} }},
		{"a peer's restart", func(s *sbNet) Event {
			m := lastStatusTo(t, s, "node2").Clone()
			m.SetHex(wire.FGeneration, 0x999)
			m.SetHex(wire.FSeq, 1)
			return Receive{Now: s.now, Link: "eth0", Msg: m}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := standingHolder(t)
			n1 := s.nodes["node1"]
			s.run(1500 * time.Millisecond) // the order sends once more
			last := n1.st.seq - 1
			ev := tc.ev(s)
			n1.core.Sent(&n1.st)
			acts := n1.core.Step(ev)
			if len(acts) == 0 {
				t.Fatal("no action")
			}
			o, ok := acts[0].(*StandingStatus)
			if !ok || o.Msg != nil {
				t.Fatalf("first action %#v, want the order's end", acts[0])
			}
			n1.st.Apply(o)
			if n1.core.Standing() {
				t.Error("the core says its order stands")
			}
			for _, a := range acts {
				if snd, ok := a.(*Send); ok {
					if v, ok := snd.Msg.Get(wire.FSeq); ok {
						if seq, _ := wire.ParseHex(v); seq != last+1 {
							t.Errorf("the Step's first message with a seq has %d, want %d (the order's last was %d)", seq, last+1, last)
						}
						break
					}
				}
			}
		})
	}
}

// TestStandingAllocs: the order's send and the core's taking of it
// allocate nothing once the history is full.
func TestStandingAllocs(t *testing.T) {
	s := standingHolder(t)
	n1 := s.nodes["node1"]
	now := s.now
	for range HistorySize + 10 {
		now = now.Add(time.Second)
		n1.st.Fire(now, testLoad)
		n1.core.Sent(&n1.st)
	}
	allocs := testing.AllocsPerRun(200, func() {
		now = now.Add(time.Second)
		n1.st.Fire(now, testLoad)
		n1.core.Sent(&n1.st)
	})
	if allocs != 0 && !testenv.RaceDetector {
		t.Errorf("a send of the order and its taking allocate %.1f times, want 0", allocs)
	}
}

// TestStandingUnreadLoadKeepsTheLast: a send of an order that has never
// had a load (the caller could not read it: "") leaves the node's load
// as it was, as a Tick with no load does, so that its later statuses
// still carry ld.
func TestStandingUnreadLoadKeepsTheLast(t *testing.T) {
	s := standingHolder(t)
	n1 := s.nodes["node1"]
	n1.core.Sent(&n1.st)
	before := n1.core.load
	if before == "" {
		t.Fatal("node1 has no load to keep")
	}
	fresh := &Standing{}
	fresh.Apply(&StandingStatus{Msg: &n1.st.tmpl, Seq: n1.st.seq, Next: n1.st.next, Every: n1.st.every})
	due, _ := fresh.Due()
	fresh.Fire(due, "")
	n1.core.Sent(fresh)
	if n1.core.load != before {
		t.Errorf("after a send with no load read, the node's load is %q, want %q kept", n1.core.load, before)
	}
}
