package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
)

// holdingNode returns node1 of a two-node net in the steady state, holding
// count groups (each an address), and the net's time then.
func holdingNode(tb testing.TB, count int) (*Node, time.Time) {
	s := newSBNetOf(tb, []string{"node1", "node2"}, func(c *config.Config) {
		c.Groups = nil
		for i := range count {
			addr := fmt.Sprintf("10.0.0.%d", 100+i)
			c.Groups = append(c.Groups, config.Group{Preferred: "node1",
				Resources: []config.Resource{{Spec: "IPaddr::" + addr, Name: "IPaddr", Args: []string{addr}}}})
		}
	})
	s.run(20 * time.Second)
	n1 := s.nodes["node1"]
	if len(n1.starts) != count {
		tb.Fatalf("node1 started %d groups, want %d", len(n1.starts), count)
	}
	return n1.core, s.now
}

// TestTickAllocatesNothing: a tick of a node holding groups, when nothing
// changed, allocates nothing (the placement view's storage is reused,
// the resource signature built in a scratch buffer).
func TestTickAllocatesNothing(t *testing.T) {
	for _, count := range []int{1, 32} {
		core, now := holdingNode(t, count)
		allocs := testing.AllocsPerRun(100, func() {
			now = now.Add(100 * time.Nanosecond)
			core.Step(Tick{Now: now, Load: testLoad})
		})
		if allocs != 0 && !testenv.RaceDetector {
			t.Errorf("%d groups: a tick allocates %v times, want 0", count, allocs)
		}
	}
}

// BenchmarkTickGroups is one tick of a node that holds n groups (each an
// address) with its peer up, in the steady state: reconcile asks the
// placement rule about every group on every tick, so its cost per group
// is what many groups add to the loop's work per heartbeat.
func BenchmarkTickGroups(b *testing.B) {
	for _, count := range []int{1, 32} {
		b.Run(fmt.Sprintf("groups=%d", count), func(b *testing.B) {
			core, now := holdingNode(b, count)
			// Ticks 100 ns apart: a second of them is ten million, and
			// the peer, silent here, is not declared dead within them.
			b.ReportAllocs()
			for b.Loop() {
				now = now.Add(100 * time.Nanosecond)
				core.Step(Tick{Now: now, Load: testLoad})
			}
		})
	}
}
