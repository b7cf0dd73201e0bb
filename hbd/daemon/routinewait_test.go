package daemon

import (
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// quietStatus is node2's status saying it sends one every 100 ms
// (hbd_quiet, ten of the rig's keepalives), routine or not.
func (r *heartbeatRig) quietStatus(now time.Time, routine bool) []byte {
	m := r.peer.message(now, wire.FType, wire.TStatus, wire.FStatus, cluster.StateActive, wire.FDeadtime, "28", wire.FProtocol, "1", wire.FHbdQuiet, "64")
	enc := r.d.keys.AppendEncode
	if routine {
		enc = r.d.keys.AppendEncodeRoutine
	}
	b, err := enc(nil, m)
	if err != nil {
		r.tb.Fatal(err)
	}
	return b
}

// quietRig is the heartbeat rig with node2 quiet: its status every
// 100 ms, its deadline 400 ms after it was last heard.
func quietRig(t *testing.T) *heartbeatRig {
	r := newHeartbeatRig(t, false)
	r.d.drainFn = r.d.drained                         // as the loop sets it: the links are read
	r.d.readClock = func() time.Time { return r.now } // the rig's clock
	r.now = r.now.Add(r.cfg.Keepalive)
	// node2's announcement: an hbd node holding nothing (a quiet claim is
	// believed only then).
	r.deliver(r.peer.datagram(t, r.now, wire.FType, wire.TResource, wire.FRscHold, "none", wire.FRType, "full", wire.FIsStable, "1", wire.FHbdHeld, "", wire.FHbdQuietMax, "3e8"))
	r.now = r.now.Add(r.cfg.Keepalive)
	b := r.quietStatus(r.now, false) // news: read at once
	r.deliver(b)
	r.deliverOn("eth1", b) // heard on both links
	if ps := r.d.core.Status().Peers; len(ps) != 1 || ps[0].Quiet != 100*time.Millisecond {
		t.Fatalf("node1 sees node2 %+v, want quiet 100ms", ps)
	}
	return r
}

// deliverOn is deliver on the link named.
func (r *heartbeatRig) deliverOn(name string, data []byte) {
	if !r.d.intake.peer(link.Packet{Link: name, From: r.from, Data: data, At: r.now}) {
		r.tb.Fatal("the loop's queue is full")
	}
	r.d.receive(<-r.d.intake.out)
	r.d.settle(r.timer)
}

// queueStatus puts node2's routine status, sent at at, in the routine
// sockets of both links.
func (r *heartbeatRig) queueStatus(at time.Time) {
	b := r.quietStatus(at, true)
	for _, name := range []string{"eth0", "eth1"} {
		r.links.queueRoutine(link.Packet{Link: name, From: r.from, Data: b, At: at})
	}
}

// routineWaiting is how many datagrams wait in the fake routine socket.
func (r *heartbeatRig) routineWaiting() int {
	r.links.mu.Lock()
	defer r.links.mu.Unlock()
	return len(r.links.routine)
}

// TestTickLeavesQuietPeersRoutine: beside a quiet peer, whose statuses
// wait in the routine socket, the holder's standing status order sends
// its statuses and the core is stepped, and that socket read, only when
// the peer's next status is due (ten ticks): most ticks leave both
// alone, and for 30 s (75 of its deadlines) node2 is never declared dead
// nor found late, every status it sent is read at the first tick after
// it came, and node1 sends its status at every tick.
func TestTickLeavesQuietPeersRoutine(t *testing.T) {
	r := quietRig(t)
	drains := func() int {
		r.links.mu.Lock()
		defer r.links.mu.Unlock()
		return r.links.drains
	}
	drains0 := drains()
	const ticks = 3000
	sent0 := r.links.sent.Load()
	lastDrain, lastDrains := 0, drains0
	for i := 1; i <= ticks; i++ {
		r.now = r.now.Add(r.cfg.Keepalive)
		if i%10 == 0 {
			r.queueStatus(r.now.Add(-4 * time.Millisecond)) // between two ticks
		}
		r.d.tick(r.now)
		r.d.settle(r.timer)
		if n := r.routineWaiting(); n != 0 {
			t.Fatalf("tick %d: node2's status, which came 4 ms before, waits still (%d datagrams)", i, n)
		}
		if n := drains(); n != lastDrains {
			lastDrain, lastDrains = i, n
		} else if i-lastDrain >= 12 {
			t.Fatalf("tick %d: the routine sockets not read for %d ticks, node2's status interval and two", i, i-lastDrain)
		}
	}
	r.checkSteady()
	if !r.d.core.Standing() {
		t.Error("node1's standing order does not stand")
	}
	if n := r.links.sent.Load() - sent0; n < ticks {
		t.Errorf("node1 sent %d messages in %d ticks, want its status at every tick", n, ticks)
	}
	if ps := r.d.core.Status().Peers; ps[0].Seq != r.peer.seq || ps[0].Quiet != 100*time.Millisecond || ps[0].Late != 0 {
		t.Errorf("node1 sees node2 %+v, want seq %d, quiet 100ms, no late status", ps[0], r.peer.seq)
	}
	n := drains() - drains0
	if n < ticks/12 || n > ticks/5 {
		t.Errorf("%d ticks of %d read the routine sockets, want about one in ten (one per status of node2)", n, ticks)
	}
	t.Logf("%d ticks of %d read the routine sockets", n, ticks)
}

// TestTickReadsRoutineWithQueued: a tick that finds a message of node2 in
// the loop's queue reads the routine socket too, even where node2's next
// status is not due, and gives the core both in the order node2 sent
// them: the tick is the one it was before.
func TestTickReadsRoutineWithQueued(t *testing.T) {
	r := quietRig(t)
	r.now = r.now.Add(r.cfg.Keepalive)
	r.queueStatus(r.now)
	r.now = r.now.Add(time.Millisecond)
	if !r.d.intake.peer(link.Packet{Link: "eth0", From: r.from, Data: r.peer.datagram(r.tb, r.now, wire.FType, "reqnodes", wire.FDest, "node1"), At: r.now}) {
		t.Fatal("the loop's queue is full")
	}
	if !r.d.core.RoutineCanWait(r.now, r.d.routineRead) {
		t.Fatal("the core would have the routine status read anyway: the case is not made")
	}
	r.d.tick(r.now)
	r.d.settle(r.timer)
	if n := r.routineWaiting(); n != 0 {
		t.Errorf("%d routine datagrams left waiting by a tick that took a queued message", n)
	}
	if ps := r.d.core.Status().Peers; ps[0].Seq != r.peer.seq || ps[0].Lost != 0 {
		t.Errorf("node1 sees node2 %+v, want seq %d and nothing lost", ps[0], r.peer.seq)
	}
}

// TestQuietPeerTicksAllocateNothing: the holder's ticks beside a quiet
// peer (most of them without the routine sockets' read, every tenth with
// the peer's status in them, read, decoded, verified and stepped)
// allocate nothing but the ld text, as TestHeartbeatAllocatesNothing
// asks of a heartbeat. The peer's statuses are signed ahead and put in
// the fake routine sockets as prepared slices, so the fake allocates
// nothing either. Counted over 100 ticks, the least of a few rounds (see
// TestHeartbeatAllocatesNothing).
func TestQuietPeerTicksAllocateNothing(t *testing.T) {
	r := quietRig(t)
	const ticks, rounds = 100, 5
	loadReads := int(ticks*r.cfg.Keepalive/loadEvery) + 1
	least := -1.0
	for range rounds {
		// AllocsPerRun runs once more first: statuses for twice the ticks.
		var batches [][]link.Packet
		for j := 1; j <= 2*ticks/10; j++ {
			at := r.now.Add(time.Duration(10*j)*r.cfg.Keepalive - 4*time.Millisecond)
			b := r.quietStatus(at, true)
			batches = append(batches, []link.Packet{{Link: "eth0", From: r.from, Data: b, At: at}, {Link: "eth1", From: r.from, Data: b, At: at}})
		}
		i, k := 0, 0
		allocs := testing.AllocsPerRun(1, func() {
			for range ticks {
				i++
				r.now = r.now.Add(r.cfg.Keepalive)
				if i%10 == 0 {
					r.links.mu.Lock()
					r.links.routine = batches[k]
					r.links.mu.Unlock()
					k++
				}
				r.d.tick(r.now)
				r.d.settle(r.timer)
			}
		})
		if least < 0 || allocs < least {
			least = allocs
		}
	}
	r.checkSteady()
	if ps := r.d.core.Status().Peers; ps[0].Quiet != 100*time.Millisecond || ps[0].Seq != r.peer.seq {
		t.Errorf("node1 sees node2 %+v, want quiet 100ms, seq %d", ps[0], r.peer.seq)
	}
	if testenv.RaceDetector {
		t.Logf("%v allocations in %d ticks under the race detector, not checked", least, ticks)
		return
	}
	if least > float64(loadReads) {
		t.Errorf("%d ticks beside a quiet peer allocate %v times (the least of %d rounds), want at most %d (the ld text)", ticks, least, rounds, loadReads)
	}
}
