package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// TestHugePeerDeadtimeKeepsQuorumWait: with quorum, a majority
// node waits two deadtimes after a peer's death before it starts that
// peer's groups (cutOffWait: the cut-off peer must notice and stop
// first). A peer whose statuses carried a huge hbd_dt (a broken or
// hostile peer; any value up to 2^63-1 ns parses) must not end the wait
// early: unbounded, the sum overflowed to a negative duration and node2
// took node1's group as soon as it declared node1 dead, while node1, cut
// off, might still run it.
func TestHugePeerDeadtimeKeepsQuorumWait(t *testing.T) {
	const deadtime = 3 * time.Second // testConfig's
	for _, hbdDT := range []string{"8637bd05af6", "2540be400" /* 10^10 ms: no overflow */} {
		t.Run(hbdDT, func(t *testing.T) {
			s := newSBNetOf(t, []string{"node1", "node2", "node3"}, nil)
			s.alter = func(from string, m *wire.Message) {
				if from == "node1" && m.Type() == wire.TStatus {
					m.Set(wire.FHbdDeadtime, hbdDT)
				}
			}
			s.run(15 * time.Second)
			s.wantHolders("node1")
			n2 := s.nodes["node2"]
			killed := s.now
			s.kill("node1")
			// Declared dead a deadtime after the cut, then a wait of a
			// deadtime plus node1's said one, bounded to four of this
			// node's (peerDeadtimeBound): node2 starts the group
			// within 6 deadtimes of the cut, never before 3.
			s.run(6*deadtime + 2*time.Second)
			if len(n2.starts) == 0 {
				t.Fatalf("node2 never took node1's group over: the bounded quorum wait did not end\n%s", strings.Join(n2.logs, "\n"))
			}
			for _, at := range n2.starts {
				if d := at.Sub(killed); d < 3*deadtime-time.Second {
					t.Errorf("node2 started node1's group %s after node1 was cut off, before the quorum wait (two deadtimes after its death)\n%s", d, strings.Join(n2.logs, "\n"))
				}
			}
		})
	}
}

// TestOnePeerDeadtimeCannotStallTakeover: with quorum, node3, a
// live member of the majority, says in its statuses that it applies a
// deadtime of 24 hours (hbd_dt: a broken or hostile peer, or one node
// whose ha.cf says so). node1, the holder, is cut off. node2 must still
// take node1's group over within a bounded time (here a minute, twenty
// of the cluster's deadtimes), not a day later.
func TestOnePeerDeadtimeCannotStallTakeover(t *testing.T) {
	s := newSBNetOf(t, []string{"node1", "node2", "node3"}, nil)
	s.alter = func(from string, m *wire.Message) {
		if from == "node3" && m.Type() == wire.TStatus {
			m.Set(wire.FHbdDeadtime, "5265c00") // 86,400,000 ms
		}
	}
	s.run(15 * time.Second)
	s.wantHolders("node1")
	n2 := s.nodes["node2"]
	s.kill("node1")
	s.run(time.Minute)
	if len(n2.starts) == 0 && s.nodes["node3"].starts == nil {
		var quorum []string
		for _, l := range n2.logs {
			if strings.Contains(l, "Quorum") {
				quorum = append(quorum, l)
			}
		}
		t.Errorf("a minute after node1 was cut off, nobody took its group over:\n%s", strings.Join(quorum, "\n"))
	}
}
