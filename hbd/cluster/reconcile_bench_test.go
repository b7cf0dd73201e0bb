package cluster

import (
	"fmt"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// holdingNode returns node1 of a two-node net in the steady state, holding
// count groups (each an address), and the net's time then.
func holdingNode(tb testing.TB, count int) (*Node, time.Time) {
	s := holdingNet(tb, count)
	return s.nodes["node1"].core, s.now
}

// holdingNet is the two-node net of holdingNode.
func holdingNet(tb testing.TB, count int) *sbNet {
	s := newSBNetOf(tb, []string{"node1", "node2"}, func(c *config.Config) {
		c.Groups = nil
		for i := range count {
			addr := fmt.Sprintf("10.0.0.%d", 100+i)
			c.Groups = append(c.Groups, config.Group{Preferred: "node1",
				Resources: []config.Resource{{Spec: "IPaddr::" + addr, Name: "IPaddr", Args: []string{addr}}}})
		}
	})
	s.run(20 * time.Second)
	if n1 := s.nodes["node1"]; len(n1.starts) != count {
		tb.Fatalf("node1 started %d groups, want %d", len(n1.starts), count)
	}
	return s
}

// peerStatus is a status message node2 of s sends (at its next status
// time, a keepalive at most after the net's time).
func peerStatus(tb testing.TB, s *sbNet) *wire.Message {
	n2 := s.nodes["node2"].core
	for range 10 {
		for _, a := range n2.Step(Tick{Now: n2.NextTick(), Load: testLoad}) {
			if snd, ok := a.(*Send); ok && snd.Msg.Type() == wire.TStatus {
				return snd.Msg
			}
		}
	}
	tb.Fatal("node2 sent no status in 10 ticks")
	return nil
}

// nextStatuses makes msgs copies of status with the seqs node1 of s
// expects next from node2, in the messages' own storage (reused from one
// batch to the next: making them leaves no garbage to collect during the
// benchmark).
func nextStatuses(s *sbNet, status *wire.Message, msgs []*wire.Message) {
	next := s.nodes["node1"].core.peerByName("node2").lastSeq + 1
	for i, m := range msgs {
		m.Copy(status)
		m.SetHex(wire.FSeq, next+uint64(i))
	}
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
// address) with its peer up, in the steady state, when the tick has
// nothing to do: no status is due, no deadline passed, nothing changed
// since the last reconcile, which the tick skips (reconcileAfter).
func BenchmarkTickGroups(b *testing.B) { benchTicks(b, false) }

// BenchmarkReconcileGroups is BenchmarkTickGroups with a reconcile at
// every tick (the check of Options.CheckSkips), as after an event that
// changed something it reads: what the placement rule and the resource
// signature cost per reconcile with n groups held.
func BenchmarkReconcileGroups(b *testing.B) { benchTicks(b, true) }

// benchTicks runs ticks 100 ns apart on a node that holds 1 and 32
// groups: a second of them is ten million, and the peer, silent here, is
// not declared dead within them. checkSkips reconciles at every tick.
func benchTicks(b *testing.B, checkSkips bool) {
	for _, count := range []int{1, 32} {
		b.Run(fmt.Sprintf("groups=%d", count), func(b *testing.B) {
			core, now := holdingNode(b, count)
			core.checkSkips = checkSkips
			b.ReportAllocs()
			var cpu time.Duration
			i := 0
			for b.Loop() {
				if i == 0 {
					cpu = testenv.CPUTime(b)
				}
				now = now.Add(100 * time.Nanosecond)
				core.Step(Tick{Now: now, Load: testLoad})
				i++
			}
			reportCPU(b, testenv.CPUTime(b)-cpu, i)
		})
	}
}

// BenchmarkReceiveGroups is one status received from the live peer by a
// node that holds n groups, in the steady state, when it changes nothing
// (the peer's state and ping count are what they were, no seq is
// missing): a heartbeat in. Every tenth is acknowledged (NS_ackmsg),
// as the peer's ack trigger says. The actions are recycled after each
// Step, as the daemon does.
func BenchmarkReceiveGroups(b *testing.B) {
	for _, count := range []int{1, 32} {
		b.Run(fmt.Sprintf("groups=%d", count), func(b *testing.B) {
			s := holdingNet(b, count)
			core, now := s.nodes["node1"].core, s.now
			status := peerStatus(b, s)
			// node2's statuses are made ahead, a batch at a time, off
			// the clock; they arrive 100 ns apart (see above).
			const batch = 1024
			msgs := make([]*wire.Message, batch)
			for i := range msgs {
				msgs[i] = &wire.Message{}
			}
			var cpu, making time.Duration
			i := 0
			b.ReportAllocs()
			for b.Loop() {
				if i%batch == 0 {
					b.StopTimer()
					c0 := testenv.CPUTime(b)
					nextStatuses(s, status, msgs)
					making += testenv.CPUTime(b) - c0
					b.StartTimer()
				}
				if i == 0 {
					cpu = testenv.CPUTime(b)
				}
				now = now.Add(100 * time.Nanosecond)
				core.Step(Receive{Now: now, Link: "eth0", Msg: msgs[i%batch]})
				core.Recycle()
				i++
			}
			b.StopTimer()
			reportCPU(b, testenv.CPUTime(b)-cpu-making, i)
			if st := core.Status(); len(st.Dropped) > 0 || st.Peers[0].State != StateActive {
				b.Fatalf("at the end: %+v", st)
			}
		})
	}
}

// reportCPU reports the process's CPU time per op (cpu-ns/op) over n ops,
// garbage collection included: on a loaded machine ns/op, wall time,
// also counts the waits for a CPU.
func reportCPU(b *testing.B, cpu time.Duration, n int) {
	if n > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(n), "cpu-ns/op")
	}
}
