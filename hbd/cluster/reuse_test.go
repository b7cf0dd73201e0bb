package cluster

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// exchange runs three nodes (fuzzConfig: two groups) for 20 s, ticked
// every 100 ms; every message reaches the other nodes at once on eth0,
// except every seventh, lost (so peers ask for it again and it is sent
// again from the history); group operations succeed at once. It returns
// every Step's actions, rendered. With reuse, each Step is followed by
// Recycle (the messages sent are copied first, as the simulation does)
// and a received message is scribbled over once its Step returned (as
// the daemon's intake decodes the next datagram into it).
func exchange(reuse bool) []string {
	names := []string{"node1", "node2", "node3"}
	nodes := make([]*Node, len(names))
	for k, name := range names {
		nodes[k] = New(Options{Config: fuzzConfig(name), UUID: [16]byte{byte(k + 1)}, Generation: 0x6b020200 + uint64(k)<<8, Now: t0})
	}
	type pending struct {
		to int
		ev Event
	}
	var out []string
	sent := 0
	run := func(first pending) {
		queue := []pending{first}
		for len(queue) > 0 {
			e := queue[0]
			queue = queue[1:]
			acts := nodes[e.to].Step(e.ev)
			for _, line := range render(acts) {
				out = append(out, names[e.to]+" "+line)
			}
			for _, a := range acts {
				at := eventTime(e.ev)
				switch a := a.(type) {
				case *Send:
					if sent++; sent%7 == 0 {
						continue
					}
					for to := range nodes {
						if to != e.to {
							queue = append(queue, pending{to, Receive{Now: at, Link: "eth0", Msg: a.Msg.Clone()}})
						}
					}
				case StartGroup:
					queue = append(queue, pending{e.to, OpDone{Now: at, Group: a.Group, Op: OpStart, Result: ResultOK}})
				case StopGroup:
					queue = append(queue, pending{e.to, OpDone{Now: at, Group: a.Group, Op: OpStop, Result: ResultOK}})
				case ProbeGroup:
					queue = append(queue, pending{e.to, OpDone{Now: at, Group: a.Group, Op: OpProbe, Result: ResultStopped}})
				}
			}
			if !reuse {
				continue
			}
			nodes[e.to].Recycle()
			if r, ok := e.ev.(Receive); ok {
				for _, f := range r.Msg.Fields {
					for i := range f.Value {
						f.Value[i] = '#'
					}
				}
			}
		}
	}
	for at := t0; at.Before(t0.Add(20 * time.Second)); at = at.Add(100 * time.Millisecond) {
		for k := range nodes {
			run(pending{k, Tick{Now: at, Load: testLoad}})
		}
	}
	return out
}

// TestReuseChangesNothing: a node whose caller recycles its actions
// (Recycle) and reuses the messages it received does exactly what a node
// given fresh ones does: the core keeps nothing of a received message and
// nothing of what it handed out, and what it resends from its history is
// its own copy.
func TestReuseChangesNothing(t *testing.T) {
	fresh, reused := exchange(false), exchange(true)
	for _, want := range []string{"send t=NS_rexmit", "send t=resource", "send t=status"} {
		if !strings.Contains(strings.Join(fresh, "\n"), want) {
			t.Fatalf("the exchange has no %q: it does not test what it should", want)
		}
	}
	for i := range max(len(fresh), len(reused)) {
		var f, r string
		if i < len(fresh) {
			f = fresh[i]
		}
		if i < len(reused) {
			r = reused[i]
		}
		if f != r {
			t.Fatalf("action %d of %d:\nfresh  %s\nreused %s", i, len(fresh), f, r)
		}
	}
}

// TestRexmitWhileHistoryWraps: the history keeps a message as it was
// sent while later Steps build theirs in the same reused storage; and a
// Step that resends the oldest message of a full history and then sends
// a new one, which takes that entry's place, still resends the message
// as it was sent.
func TestRexmitWhileHistoryWraps(t *testing.T) {
	n := joined(t)
	n.Recycle()
	// The first message with a seq sent after a Recycle, as sent: its
	// slot is reused by every later Step.
	var first *wire.Message
	var firstSeq uint64
	at := t0.Add(200 * time.Millisecond)
	seq2 := uint64(3) // joined consumed node2's 1..3
	step := func(ev Event) {
		for _, m := range sends(n.Step(ev)) {
			if seq, err := m.HexValue(wire.FSeq); first == nil && err == nil {
				first, firstSeq = m.Clone(), seq
			}
		}
		n.Recycle()
	}
	for n.seq < HistorySize {
		step(Tick{Now: at})
		at = at.Add(time.Second)
		// node2 stays alive and acknowledges nothing.
		seq2++
		step(status2(gen2, seq2, at, StateActive))
	}
	oldest, _ := n.sent(n.seq - HistorySize + 1)
	if oldest == nil {
		t.Fatal("the history is not full")
	}
	if first == nil {
		t.Fatal("nothing was sent")
	}
	kept, _ := n.sent(firstSeq)
	if kept == nil {
		t.Fatalf("seq %d is not in the history", firstSeq)
	}
	if fields(kept.msg) != fields(first) {
		t.Fatalf("the history does not keep seq %d as sent:\n%s\nwant\n%s", firstSeq, fields(kept.msg), fields(first))
	}
	want := oldest.msg.Clone()
	// The request arrives when the next status is due: the resend is
	// built first, then the status takes the oldest entry's place.
	rexmit := peerMsg(gen2, 0, at, "t", wire.TRexmit, "dest", "node1") // no seq: an NS_ message
	rexmit.SetDecimal(wire.FFirstSeq, int(n.seq-HistorySize+1))
	rexmit.SetDecimal(wire.FLastSeq, int(n.seq-HistorySize+1))
	got := sends(n.Step(Receive{Now: n.NextTick(), Link: "eth0", Msg: rexmit}))
	if len(got) != 2 {
		t.Fatalf("sent %d messages, want the resend and a status: %s", len(got), render(n.out))
	}
	if after, _ := n.sent(n.seq - HistorySize); after != nil {
		t.Fatalf("seq %d is still in the history: it did not wrap", n.seq-HistorySize)
	}
	if fields(got[0]) != fields(want) {
		t.Errorf("resent\n%s\nwant\n%s", fields(got[0]), fields(want))
	}
	if s, _ := got[1].Get(wire.FType); s != wire.TStatus {
		t.Errorf("then sent %s, want a status", fmt.Sprint(fields(got[1])))
	}
}

// TestEventTime: eventTime reads every kind of event's own time.
func TestEventTime(t *testing.T) {
	at := t0.Add(time.Second)
	for _, ev := range []Event{Tick{Now: at}, Receive{Now: at}, Stop{Now: at}, OpDone{Now: at}, Command{Now: at},
		Reconfigure{Now: at}, GroupFailure{Now: at}, PingStatus{Now: at}, FenceDone{Now: at}} {
		if got := eventTime(ev); !got.Equal(at) || !got.Equal(ev.at()) {
			t.Errorf("eventTime(%T) = %v, want %v", ev, got, at)
		}
	}
}
