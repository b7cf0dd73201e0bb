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
	next := n2.peerByName("node1").lastSeq + 1
	msgs := make([]*wire.Message, 300)
	for i := range msgs {
		msgs[i] = status.Clone()
		msgs[i].SetHex(wire.FSeq, next+uint64(i))
	}
	now := s.now
	i := 0
	allocs := testing.AllocsPerRun(100, func() {
		now = now.Add(time.Millisecond)
		n2.Step(Receive{Now: now, Link: "eth0", Msg: msgs[i]})
		i++
	})
	t.Logf("a quiet passive's Receive of a routine status allocates %v times", allocs)
	if allocs != 0 && !testenv.RaceDetector {
		t.Errorf("a quiet passive's Receive of a routine status allocates %v times, want 0", allocs)
	}
	if n2.Status().Quiet == 0 {
		t.Error("node2 woke")
	}
}
