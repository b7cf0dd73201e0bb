package cluster

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// TestQuietPassiveAllocs: the passive's steady state (quiet, its
// holder's statuses coming in) allocates nothing per heartbeat, as the
// holder's does (TestTickAllocatesNothing).
func TestQuietPassiveAllocs(t *testing.T) {
	s := holdingNet(t, 1)
	s.run(40 * time.Second)
	n1, n2 := s.nodes["node1"].core, s.nodes["node2"].core
	if n2.Status().Quiet == 0 {
		t.Fatal("node2 is not quiet")
	}
	var status *wire.Message
	for range 10 {
		for _, a := range n1.Step(Tick{Now: n1.NextTick(), Load: testLoad}) {
			if snd, ok := a.(*Send); ok && snd.Msg.Type() == wire.TStatus {
				status = snd.Msg.Clone()
			}
		}
		if status != nil {
			break
		}
	}
	if status == nil {
		t.Fatal("node1 sent no status")
	}
	receiveAllocsNone(t, n2, "node1", status, s.now, "a quiet passive's Receive of a routine status")
	if n2.Status().Quiet == 0 {
		t.Error("node2 woke")
	}
}

// TestQuietHolderAllocs: the holder's Receive of its quiet peer's status
// (hbd_quiet read, the scaled deadline kept) allocates nothing either.
func TestQuietHolderAllocs(t *testing.T) {
	s := holdingNet(t, 1)
	var status *wire.Message
	s.alter = func(from string, m *wire.Message) {
		if from == "node2" && m.Type() == wire.TStatus && m.Value(wire.FHbdQuiet) != "" {
			status = m.Clone()
		}
	}
	s.run(40 * time.Second)
	n1 := s.nodes["node1"].core
	if status == nil || peerStatusOf(n1, "node2").Quiet == 0 {
		t.Fatal("node2 is not quiet")
	}
	receiveAllocsNone(t, n1, "node2", status, s.now, "the holder's Receive of a quiet status")
	if peerStatusOf(n1, "node2").Quiet == 0 {
		t.Error("node1 no longer sees node2 quiet")
	}
}

// receiveAllocsNone has n receive copies of status from peer, each with
// the next seq, a millisecond apart from now, and fails the test if a
// Receive allocates (what says what is measured).
func receiveAllocsNone(t *testing.T, n *Node, peer string, status *wire.Message, now time.Time, what string) {
	t.Helper()
	next := n.peerByName(peer).lastSeq + 1
	msgs := make([]*wire.Message, 300)
	for i := range msgs {
		msgs[i] = status.Clone()
		msgs[i].SetHex(wire.FSeq, next+uint64(i))
	}
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(time.Millisecond)
		n.Step(Receive{Now: now, Link: "eth0", Msg: msgs[i]})
		i++
	})
	t.Logf("%s allocates %v times", what, allocs)
	if allocs != 0 && !testenv.RaceDetector {
		t.Errorf("%s allocates %v times, want 0", what, allocs)
	}
}
