package daemon

import (
	"fmt"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sirupsen/logrus"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/testenv"
	"github.com/hbdproject/hbd/hbd/wire"
)

// countLinks counts what the loop sends and keeps nothing, as a socket
// would (the real links copy a datagram before Send returns).
type countLinks struct {
	fakeLinks
	sent, bytes atomic.Int64
}

func (c *countLinks) Send(b []byte) { c.sent.Add(1); c.bytes.Add(int64(len(b))) }

func (c *countLinks) SendOn(_ string, b []byte) error { c.Send(b); return nil }

// heartbeatPeer is node2 as the benchmark plays it: its datagrams, signed,
// on a clock the benchmark moves.
type heartbeatPeer struct {
	keys *wire.Keyring
	uuid [wire.UUIDLen]byte
	seq  uint64
}

// datagram is node2's next message (kv, then the common fields) sent at
// now, signed.
func (p *heartbeatPeer) datagram(tb testing.TB, now time.Time, kv ...string) []byte {
	b, err := p.keys.Encode(p.message(now, kv...))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// message is node2's next message (kv, then the common fields) sent at
// now.
func (p *heartbeatPeer) message(now time.Time, kv ...string) *wire.Message {
	p.seq++
	m := &wire.Message{}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Set(kv[i], kv[i+1])
	}
	m.Set(wire.FSrc, "node2")
	m.SetUUID(wire.FSrcUUID, p.uuid)
	m.Set(wire.FSeq, wire.Hex(p.seq))
	m.Set(wire.FGeneration, "5")
	m.Set(wire.FTimestamp, wire.UnixHex(now))
	m.Set(wire.FLoad, "0.08 0.03 0.01 1/187 4242")
	m.Set(wire.FTTL, "3")
	return m
}

// status is node2's status message at now, as an active hbd node sends
// it every keepalive: a routine one (wire.RoutinePrefix).
func (p *heartbeatPeer) status(tb testing.TB, now time.Time) []byte {
	m := p.message(now, wire.FType, wire.TStatus, wire.FStatus, cluster.StateActive, wire.FDeadtime, "28", wire.FProtocol, "1")
	b, err := p.keys.AppendEncodeRoutine(nil, m)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// heartbeatRig is a joined daemon, node1, and node2 as the benchmark
// plays it, on a clock the rig moves by one keepalive per heartbeat.
type heartbeatRig struct {
	tb    testing.TB
	d     *Daemon
	links *countLinks
	peer  *heartbeatPeer
	from  netip.AddrPort
	cfg   *config.Config
	now   time.Time
	timer *wakeTimer
}

// rigGroups are the two groups of a rig with groups: node1's and node2's.
var rigGroups = []config.Group{
	{Preferred: "node1", Resources: []config.Resource{{Spec: "web1", Name: "web1"}}},
	{Preferred: "node2", Resources: []config.Resource{{Spec: "web2", Name: "web2"}}},
}

// newHeartbeatRig returns node1 at keepalive 10 ms, joined with node2
// (node2 heard, node1's reqnodes answered) and past the start bonus, so
// that what follows is the steady state. Debug is off, as by default:
// what is not written is not formatted. With groups, each node prefers
// one of rigGroups and holds it: node2 (a peer announcing as Heartbeat
// does, rsc_hold=local) says so once, node1 probes and starts its own
// (the fake runner's results taken from the loop's queue) before the
// steady state begins.
func newHeartbeatRig(tb testing.TB, groups bool) *heartbeatRig {
	cfg := loopConfig("node1", "node2")
	cfg.Keepalive, cfg.Warntime, cfg.Deadtime = 10*time.Millisecond, 30*time.Millisecond, 40*time.Millisecond
	if groups {
		cfg.Groups = rigGroups
	}
	d, _, _ := newTestDaemonIn(tb, cfg, &fakeRunner{}, tb.TempDir())
	d.log.SetLevel(logrus.InfoLevel)
	r := &heartbeatRig{
		tb: tb, d: d, links: &countLinks{}, cfg: cfg, now: d.start,
		peer: &heartbeatPeer{keys: d.keys, uuid: [wire.UUIDLen]byte{2}},
		from: netip.MustParseAddrPort("192.0.2.2:694"),
	}
	d.links = r.links
	timer, err := newWakeTimer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(timer.close)
	r.timer = timer
	d.tick(r.now)
	if groups {
		r.waitOps(func() bool { // the probes, before the join
			for _, g := range d.core.Status().Groups {
				if g.State == cluster.GroupProbing {
					return false
				}
			}
			return true
		})
	}
	r.deliver(r.peer.status(tb, r.now))
	r.deliver(r.peer.datagram(tb, r.now, wire.FType, "repnodes", wire.FDest, "node1", "nodelist", "node1 node2 "))
	if groups {
		r.deliver(r.peer.datagram(tb, r.now, wire.FType, wire.TResource, wire.FRscHold, cluster.HoldLocal, wire.FRType, "full", wire.FIsStable, "1"))
	}
	for range int(2 * cluster.StartBonusFor / cfg.Keepalive) {
		r.heartbeat(r.peer.status(tb, r.now.Add(cfg.Keepalive)))
		if groups {
			r.takeOps()
		}
	}
	if groups {
		r.waitOps(r.holdsGroups) // node1's start
	}
	if st := d.core.Status(); st.State != cluster.StateActive {
		tb.Fatalf("node1 is %s, not active, after the warm-up", st.State)
	}
	return r
}

// takeOps takes the group operations that ended from the loop's queue.
func (r *heartbeatRig) takeOps() {
	for {
		select {
		case op := <-r.d.ops:
			r.d.opFinished(op)
			r.d.settle(r.timer)
		default:
			return
		}
	}
}

// waitOps takes the group operations that end until done is true (the
// fake runner's goroutines), for at most 10 s.
func (r *heartbeatRig) waitOps(done func() bool) {
	for deadline := time.Now().Add(10 * time.Second); !done(); {
		if time.Now().After(deadline) {
			r.tb.Fatalf("the groups after 10 s: %+v", r.d.core.Status().Groups)
		}
		select {
		case op := <-r.d.ops:
			r.d.opFinished(op)
			r.d.settle(r.timer)
		case <-time.After(time.Millisecond):
		}
	}
}

// holdsGroups: node1 runs its group and knows node2 holds its own.
func (r *heartbeatRig) holdsGroups() bool {
	gs := r.d.core.Status().Groups
	return len(gs) == 2 && gs[0].Holder == "node1" && gs[0].State == cluster.GroupRunning && gs[1].Holder == "node2"
}

// deliver takes node2's datagram as the daemon does: verified on the
// link's reader (intake.peer), taken from the loop's queue (receive).
func (r *heartbeatRig) deliver(data []byte) {
	if !r.d.intake.peer(link.Packet{Link: "eth0", From: r.from, Data: data, At: r.now}) {
		r.tb.Fatal("the loop's queue is full")
	}
	select {
	case m := <-r.d.intake.out:
		r.d.receive(m)
		r.d.settle(r.timer)
	default:
		r.tb.Fatal("node2's datagram did not verify")
	}
}

// heartbeat is one keepalive later: node2's datagram in, and the tick
// due then, which sends node1's status.
func (r *heartbeatRig) heartbeat(data []byte) {
	r.now = r.now.Add(r.cfg.Keepalive)
	r.deliver(data)
	r.d.tick(r.now)
	r.d.settle(r.timer)
}

// statuses are node2's next n status messages, one keepalive apart,
// signed ahead.
func (r *heartbeatRig) statuses(n int) [][]byte {
	pkts := make([][]byte, n)
	for j := range pkts {
		pkts[j] = r.peer.status(r.tb, r.now.Add(time.Duration(j+1)*r.cfg.Keepalive))
	}
	return pkts
}

// checkSteady fails unless both nodes are still active, nothing was
// dropped (every heartbeat was taken) and the groups, if any, are where
// they were.
func (r *heartbeatRig) checkSteady() {
	if st := r.d.core.Status(); st.State != cluster.StateActive || len(st.Dropped) > 0 || len(st.Peers) != 1 || st.Peers[0].State != cluster.StateActive {
		r.tb.Fatalf("at the end: %s", fmt.Sprintf("%+v", st))
	}
	if len(r.cfg.Groups) > 0 && !r.holdsGroups() {
		r.tb.Fatalf("at the end, the groups: %+v", r.d.core.Status().Groups)
	}
}

// TestHeartbeatAllocatesNothing: in the steady state a heartbeat in and
// out through the loop's code (BenchmarkLoopHeartbeat's path: decode and
// verify, the core's Step, encode and sign, the timer set for the next
// deadline) allocates nothing, with no group and with a group held on
// each node. The count is over 100 heartbeats (a second of the rig's
// clock); the one allocation allowed is the ld text, read again from
// /proc/loadavg once a second and made a string when it changed.
// Allocation counts are behaviour, not timing: the bound is exact. But
// testing.AllocsPerRun counts every goroutine's allocations, and one
// left by an earlier test of the package (a daemon's cleanup, a log
// writer) may allocate during a round: the count is the least of a few
// rounds. An allocation of the heartbeat's own shows in every round.
// (The daemon's own goroutines allocate nothing at rest: its log queue
// waits on a channel, its hook after a garbage collection, afterEachGC,
// allocates once per collection, and there is none without garbage.)
func TestHeartbeatAllocatesNothing(t *testing.T) {
	for _, tc := range []struct {
		name   string
		groups bool
	}{
		{"no group", false},
		{"groups held", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newHeartbeatRig(t, tc.groups)
			const runs, rounds = 100, 5 // ten of node1's acknowledgements in each round
			loadReads := int(runs*r.cfg.Keepalive/loadEvery) + 1
			least := -1.0
			for range rounds {
				pkts := r.statuses(2 * runs) // AllocsPerRun runs once more first
				sent0 := r.links.sent.Load()
				i := 0
				allocs := testing.AllocsPerRun(1, func() {
					for range runs {
						r.heartbeat(pkts[i])
						i++
					}
				})
				if sent := r.links.sent.Load() - sent0; sent < 2*runs {
					t.Fatalf("node1 sent %d messages in %d heartbeats", sent, 2*runs)
				}
				if least < 0 || allocs < least {
					least = allocs
				}
			}
			r.checkSteady()
			if testenv.RaceDetector {
				t.Logf("%v allocations in %d heartbeats under the race detector, not checked: it allocates on its own, and AllocsPerRun counts those", least, runs)
				return
			}
			if least > float64(loadReads) {
				t.Errorf("%d heartbeats allocate %v times (the least of %d rounds), want at most %d (the ld text)", runs, least, rounds, loadReads)
			}
		})
	}
}

// BenchmarkLoopHeartbeat is one heartbeat in and one out through the code
// the daemon's loop runs, at keepalive 10 ms, on a clock the benchmark
// moves by one keepalive per heartbeat: node2's status is decoded and
// verified as a link's reader does it (intake.peer), taken from the
// loop's queue and given to the core (receive), and the tick due
// then (tick) makes the core send this node's status, which the loop
// encodes and signs and hands to the links (fake: counted, not kept);
// after each of the two events the loop's timer is set for the core's
// next deadline as the loop sets it (settle: a real timerfd, which
// never fires here; realtime is off).
// The two nodes have joined and node2's acknowledgements of this node's
// messages and its own arrive as they would, so the figure is the steady
// state. Only the goroutine switch (reader → loop) and the sockets are
// left out. ns/op and allocs/op are per heartbeat in and out.
//
// "groups held": each node holds one group (newHeartbeatRig), so the
// core's tick also walks the placement rule and the resource signature.
func BenchmarkLoopHeartbeat(b *testing.B) {
	b.Run("no group", func(b *testing.B) { benchLoopHeartbeat(b, false) })
	b.Run("groups held", func(b *testing.B) { benchLoopHeartbeat(b, true) })
}

func benchLoopHeartbeat(b *testing.B, groups bool) {
	r := newHeartbeatRig(b, groups)

	// node2's datagrams are signed ahead, a batch at a time, off the clock.
	const batch = 1024
	var pkts [][]byte
	sent0 := r.links.sent.Load()
	b.ReportAllocs()
	b.ResetTimer()
	var cpu, signing time.Duration
	i := 0
	for b.Loop() {
		if i%batch == 0 {
			b.StopTimer()
			c0 := testenv.CPUTime(b)
			pkts = r.statuses(batch)
			signing += testenv.CPUTime(b) - c0
			b.StartTimer()
		}
		if i == 0 {
			cpu = testenv.CPUTime(b)
		}
		r.heartbeat(pkts[i%batch])
		i++
	}
	b.StopTimer()
	if i > 0 {
		cpu = testenv.CPUTime(b) - cpu - signing
		b.ReportMetric(float64(r.links.sent.Load()-sent0)/float64(i), "sent/op")
		// The process's CPU time (garbage collection included) is what
		// idle costs; on a loaded machine ns/op, wall time, is inflated
		// by the waits for a CPU and this much less.
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(i), "cpu-ns/op")
	}
	r.checkSteady()
}
