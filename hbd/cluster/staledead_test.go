package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
)

// TestQuorumStaleDeadMark: node1 holds the group; its sending is cut, so
// node2 and node3 declare it dead, and node3's status saying so reaches
// node2. Then node3's sending to node2 is cut and node1's to node3 heals:
// node3 hears node1 again while node2 still reads node3's older status.
// node1 keeps quorum (it hears both), so it keeps the group; node2 must
// not start it: it declares node3 dead, and so loses quorum, before its
// wait after node1's death ends (two deadtimes, quorum.go). A wait that
// trusted node3's old word that node1 was dead and then ended sooner (an
// acknowledgement-based lease with a 2 s wait at deadtime 3 s, since
// withdrawn) started it on node2 at +19.9 s with node1 still running it.
// The variants differ in keepalive: where node3's statuses fall must not
// matter.
func TestQuorumStaleDeadMark(t *testing.T) {
	for _, keepalive := range []time.Duration{100 * time.Millisecond, 50 * time.Millisecond} {
		t.Run(keepalive.String(), func(t *testing.T) {
			s := newStaleMarkNet(t, keepalive)
			cut := map[[2]string]bool{{"node1", "node2"}: true, {"node1", "node3"}: true}
			s.blocked = func(from, to string) bool { return cut[[2]string{from, to}] }
			n2, n3 := s.nodes["node2"].core, s.nodes["node3"].core
			for range 2000 {
				s.run(5 * time.Millisecond)
				if n3.peerByName("node1").state == StateDead {
					break
				}
			}
			if n2.peerByName("node1").state != StateDead || n3.peerByName("node1").state != StateDead {
				t.Fatalf("node1 not declared dead by node2 and node3 at +%s", fmtSecs(s.now.Sub(t0)))
			}
			s.run(10 * time.Millisecond) // node3's status saying so reaches node2
			cut[[2]string{"node3", "node2"}] = true
			delete(cut, [2]string{"node1", "node3"})
			s.runSingleHolder(5 * time.Second)
			// The story happened as told: node3 hears node1 again, node2
			// is alone, and the group stayed where it was.
			if n3.peerByName("node1").state == StateDead || n2.peerByName("node3").state != StateDead {
				t.Fatalf("node3 sees node1 %v, node2 sees node3 %v: not the story", n3.peerByName("node1").state, n2.peerByName("node3").state)
			}
			s.wantHolders("node1")
		})
	}
}

// TestQuorumStaleMarkBeforeHolding: a "dead" mark older than the holding
// it is used against. The group is disabled, then enabled on node1 (its
// preferred node) just after node3 stopped hearing node1: node1 may not
// start it before node3 has seen the enable, and node3 declares node1
// dead and wants node2 (the next node) to hold it. node2 stops hearing
// node1 and declares it dead too (node1 stops hearing node2 just
// before, so node2's last word at node1 still wants node1); then node3
// hears node1 again and is no longer heard by node2 at once. So node1,
// with node3's consent and node2's last one, starts the group, while
// node2, which still reads node3's mark and counts node3 live, would take
// it over. It must not: node2 declares node3 dead and loses quorum before
// its wait after node1's death (two deadtimes, quorum.go) ends. A lease in
// which node1 counted node3's acknowledgements because node3 heard it
// again before node1 began holding the group (node3's mark being older
// than the holding) started it on node1 at +7.1 s and on node2 at +7.4 s
// (a 1 s wait, deadtime 3 s).
func TestQuorumStaleMarkBeforeHolding(t *testing.T) {
	for _, keepalive := range []time.Duration{100 * time.Millisecond, 50 * time.Millisecond} {
		t.Run(keepalive.String(), func(t *testing.T) {
			s := newStaleMarkNet(t, keepalive)
			n1 := s.nodes["node1"]
			s.step(n1, Command{Now: s.now, Kind: CmdGroupDisable, Which: sbKey})
			s.run(5 * time.Second)
			s.wantHolders()
			start := s.now
			at := func(d time.Duration) { s.run(start.Add(d).Sub(s.now)) }
			cut := map[[2]string]bool{{"node1", "node3"}: true}
			s.blocked = func(from, to string) bool { return cut[[2]string{from, to}] }
			at(2500 * time.Millisecond)
			s.step(n1, Command{Now: s.now, Kind: CmdGroupEnable, Which: sbKey})
			at(3500 * time.Millisecond)
			cut[[2]string{"node1", "node2"}] = true
			at(6400 * time.Millisecond)
			cut[[2]string{"node2", "node1"}] = true
			at(6900 * time.Millisecond)
			delete(cut, [2]string{"node1", "node3"})
			cut[[2]string{"node3", "node2"}] = true
			n2, n3 := s.nodes["node2"].core, s.nodes["node3"].core
			s.runSingleHolder(1500 * time.Millisecond)
			// The story happened as told, 8.4 s in: node1 runs the group
			// with node3; node2 has declared node1 dead and still counts
			// node3.
			if n2.peerByName("node1").state != StateDead || n2.peerByName("node3").state == StateDead ||
				n3.peerByName("node1").state == StateDead || !n1.running[sbKey] {
				t.Fatalf("node2 sees node1 %v and node3 %v, node3 sees node1 %v, node1 runs the group: %v: not the story",
					n2.peerByName("node1").state, n2.peerByName("node3").state, n3.peerByName("node1").state, n1.running[sbKey])
			}
			s.runSingleHolder(5 * time.Second)
			s.blocked = nil
			s.run(10 * time.Second)
			s.wantHolders("node1")
		})
	}
}

// newStaleMarkNet is three nodes at this keepalive (deadtime 3 s), run
// until node1 holds the group.
func newStaleMarkNet(t *testing.T, keepalive time.Duration) *sbNet {
	s := newSBNetOf(t, []string{"node1", "node2", "node3"}, func(c *config.Config) {
		c.Keepalive = keepalive
	})
	s.run(15 * time.Second)
	s.wantHolders("node1")
	return s
}

// runSingleHolder runs d in 5 ms steps and fails at the first step after
// which two nodes hold the group.
func (s *sbNet) runSingleHolder(d time.Duration) {
	s.t.Helper()
	for end := s.now.Add(d); s.now.Before(end); {
		s.run(5 * time.Millisecond)
		if hs := s.holders(); len(hs) > 1 {
			s.t.Fatalf("holders %v at +%s\nnode1:\n%s\nnode2:\n%s", hs, fmtSecs(s.now.Sub(t0)),
				strings.Join(s.nodes["node1"].logs, "\n"), strings.Join(s.nodes["node2"].logs, "\n"))
		}
	}
}
