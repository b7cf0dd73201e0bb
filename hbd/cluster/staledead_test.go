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
			s := newSBNetOf(t, []string{"node1", "node2", "node3"}, func(c *config.Config) {
				c.Keepalive = keepalive
			})
			s.run(15 * time.Second)
			s.wantHolders("node1")
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
			for range 1000 {
				s.run(5 * time.Millisecond)
				if hs := s.holders(); len(hs) > 1 {
					t.Fatalf("holders %v at +%s\nnode1:\n%s\nnode2:\n%s", hs, fmtSecs(s.now.Sub(t0)),
						strings.Join(s.nodes["node1"].logs, "\n"), strings.Join(s.nodes["node2"].logs, "\n"))
				}
			}
			// The story happened as told: node3 hears node1 again, node2
			// is alone, and the group stayed where it was.
			if n3.peerByName("node1").state == StateDead || n2.peerByName("node3").state != StateDead {
				t.Fatalf("node3 sees node1 %v, node2 sees node3 %v: not the story", n3.peerByName("node1").state, n2.peerByName("node3").state)
			}
			s.wantHolders("node1")
		})
	}
}
