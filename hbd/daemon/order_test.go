package daemon

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/cluster"
	"github.com/hbdproject/hbd/hbd/link"
	"github.com/hbdproject/hbd/hbd/wire"
)

// orderMsg is a message of src for arrange: "gen.seq", or "NS" for an
// NS_ message, at ms milliseconds.
type orderMsg struct {
	src, sent string
	ms        int
}

// batch makes received messages of ms (arrival t0 + ms).
func batch(t *testing.T, t0 time.Time, ms []orderMsg) []received {
	t.Helper()
	var rs []received
	for _, o := range ms {
		m := &wire.Message{}
		m.Set(wire.FSrc, o.src)
		if o.sent == "NS" {
			m.Set(wire.FType, wire.TAck)
			m.Set(wire.FAckSeq, "1")
		} else {
			var gen, seq uint64
			if _, err := fmt.Sscanf(o.sent, "%d.%d", &gen, &seq); err != nil {
				t.Fatal(err)
			}
			m.Set(wire.FType, wire.TStatus)
			m.SetHex(wire.FGeneration, gen)
			m.SetHex(wire.FSeq, seq)
		}
		gen, seq := sendKey(m)
		rs = append(rs, received{Link: "eth0", At: t0.Add(time.Duration(o.ms) * time.Millisecond), Msg: m, Gen: gen, Seq: seq})
	}
	return rs
}

// names is rs as "src gen.seq" (or "src NS").
func names(rs []received) []string {
	var out []string
	for _, r := range rs {
		src, _ := r.Msg.Get(wire.FSrc)
		if r.Seq == 0 {
			out = append(out, src+" NS")
		} else {
			out = append(out, fmt.Sprintf("%s %d.%d", src, r.Gen, r.Seq))
		}
	}
	return out
}

// TestArrange: a batch is sorted by arrival, then each node's messages
// are put in the order it sent them, in the places its messages took;
// the others keep theirs.
func TestArrange(t *testing.T) {
	t0 := time.Now()
	for _, tc := range []struct {
		name string
		in   []orderMsg
		want []string
	}{
		{"by arrival", []orderMsg{{"node2", "5.3", 3}, {"node2", "5.2", 2}}, []string{"node2 5.2", "node2 5.3"}},
		// A clock step back between a routine status's arrival and its
		// read at a wake-up: stamped at the read, after the message
		// the peer sent next, read at once.
		{"stamped later than the next one sent", []orderMsg{{"node2", "5.2", 4}, {"node2", "5.3", 3}}, []string{"node2 5.2", "node2 5.3"}},
		// A restart: the old generation's last message read after
		// the new one's first.
		{"generations", []orderMsg{{"node2", "6.1", 1}, {"node2", "5.9", 2}}, []string{"node2 5.9", "node2 6.1"}},
		// One message on two links: the copies stay next to each
		// other, in the order they arrived.
		{"copies", []orderMsg{{"node2", "5.3", 1}, {"node2", "5.3", 2}, {"node2", "5.2", 3}, {"node2", "5.2", 4}}, []string{"node2 5.2", "node2 5.2", "node2 5.3", "node2 5.3"}},
		{"another node keeps its places", []orderMsg{{"node2", "5.3", 1}, {"node3", "9.7", 2}, {"node2", "5.2", 3}, {"node3", "9.8", 4}},
			[]string{"node2 5.2", "node3 9.7", "node2 5.3", "node3 9.8"}},
		{"NS_ messages keep their places", []orderMsg{{"node2", "5.3", 1}, {"node2", "NS", 2}, {"node2", "5.2", 3}},
			[]string{"node2 5.2", "node2 NS", "node2 5.3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rs := batch(t, t0, tc.in)
			var o sendOrder
			o.setPeers([]string{"node1", "node2", "node3"}, "node1")
			o.arrange(rs)
			if got := names(rs); !slices.Equal(got, tc.want) {
				t.Errorf("arranged %q, want %q", got, tc.want)
			}
		})
	}
}

// TestArrangeGap: arrange finds a gap after the last message given to
// the core of a peer, or between two of the batch; not across a
// restart, nor for a peer it knows nothing of yet, nor for a node not
// configured or this node itself.
func TestArrangeGap(t *testing.T) {
	t0 := time.Now()
	for _, tc := range []struct {
		name        string
		given, next []orderMsg
		gap         bool
	}{
		{"next seq", []orderMsg{{"node2", "5.1", 1}}, []orderMsg{{"node2", "5.2", 2}}, false},
		{"a seq missing", []orderMsg{{"node2", "5.1", 1}}, []orderMsg{{"node2", "5.3", 2}}, true},
		{"missing in the batch", nil, []orderMsg{{"node2", "5.1", 1}, {"node2", "5.3", 2}}, true},
		{"first ever", nil, []orderMsg{{"node2", "5.7", 1}}, false},
		{"copies and old seqs", []orderMsg{{"node2", "5.4", 1}}, []orderMsg{{"node2", "5.2", 2}, {"node2", "5.4", 3}, {"node2", "5.5", 4}, {"node2", "5.5", 5}}, false},
		{"restart", []orderMsg{{"node2", "5.4", 1}}, []orderMsg{{"node2", "6.3", 2}}, false},
		{"gap after a restart", []orderMsg{{"node2", "5.4", 1}}, []orderMsg{{"node2", "6.3", 2}, {"node2", "6.5", 3}}, true},
		{"older generation", []orderMsg{{"node2", "5.4", 1}}, []orderMsg{{"node2", "4.9", 2}}, false},
		{"not configured", []orderMsg{{"node9", "5.1", 1}}, []orderMsg{{"node9", "5.3", 2}}, false},
		{"this node's own, heard back", []orderMsg{{"node1", "5.1", 1}}, []orderMsg{{"node1", "5.3", 2}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var o sendOrder
			o.setPeers([]string{"node1", "node2"}, "node1")
			if tc.given != nil {
				o.arrange(batch(t, t0, tc.given))
				o.given()
			}
			if gap := o.arrange(batch(t, t0, tc.next)); gap != tc.gap {
				t.Errorf("gap %v, want %v", gap, tc.gap)
			}
		})
	}
}

// TestStepOrdersBySeq: messages of node2 whose arrival stamps are out of
// the order it sent them reach the core in that order: no packet is
// logged lost and none recovered, nothing is dropped as a replay.
func TestStepOrdersBySeq(t *testing.T) {
	from := netip.MustParseAddrPort("192.0.2.3:694")
	for _, tc := range []struct {
		name string
		// routine is drained from the links, queued waits in the
		// loop's queue, and event is the message the loop's select
		// took: each gen.seq at ms after t0 (nil: none).
		routine, queued []orderMsg
		event           *orderMsg
	}{
		// The wall clock stepped back while routine status 2 waited in
		// its socket: its kernel stamp is in the future and it is
		// stamped at the read, after status 3, read at once.
		{name: "clock step back", routine: []orderMsg{{"", "5.2", 9}}, event: &orderMsg{"", "5.3", 5}},
		// node2's status 2 (not routine) waited in its own socket
		// while its reader stalled for longer than a kernel stamp is
		// trusted: stamped at the read, after routine status 3 that
		// came later and keeps its arrival.
		{name: "reader stalled", routine: []orderMsg{{"", "5.3", 2500}}, queued: []orderMsg{{"", "5.2", 3000}}},
		// node2 restarted: its old generation's last status is
		// stamped after the new generation's first.
		{name: "restart", queued: []orderMsg{{"", "7.1", 4}, {"", "5.2", 6}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, logs, t0 := newStepRig(t)
			d, links := r.d, r.links
			signed := func(o orderMsg) []byte {
				var gen, seq uint64
				if _, err := fmt.Sscanf(o.sent, "%d.%d", &gen, &seq); err != nil {
					t.Fatal(err)
				}
				r.gen2 = gen
				return r.signed(seq, "t", "status", "st", "up", "dt", "7d0", "protocol", "1")
			}
			at := func(o orderMsg) time.Time { return t0.Add(time.Duration(o.ms) * time.Millisecond) }
			d.step(cluster.Receive{Now: t0.Add(time.Millisecond), Link: "eth0", Msg: mustDecode(t, d, signed(orderMsg{"", "5.1", 1}))})
			for _, o := range tc.routine {
				links.queueRoutine(link.Packet{Link: "eth0", From: from, Data: signed(o), At: at(o)})
			}
			for _, o := range tc.queued {
				if !d.intake.peer(link.Packet{Link: "eth0", From: from, Data: signed(o), At: at(o)}) {
					t.Fatal("the loop's queue is full")
				}
			}
			if tc.event != nil {
				d.step(cluster.Receive{Now: at(*tc.event), Link: "eth0", Msg: mustDecode(t, d, signed(*tc.event))})
			} else {
				d.step(cluster.Tick{Now: t0.Add(3001 * time.Millisecond)})
			}
			p := d.core.Status().Peers
			if len(p) != 1 || p[0].Lost != 0 || p[0].Recovered != 0 {
				t.Errorf("peer %+v: want nothing lost", p)
			}
			for _, bad := range []string{"lost packet", "replay", "No pkts missing"} {
				if strings.Contains(logs.String(), bad) {
					t.Errorf("logged %q:\n%s", bad, logs)
				}
			}
			if len(d.intake.out) != 0 || len(d.pending) != 0 {
				t.Errorf("%d messages left in the queue, %d pending, after the step", len(d.intake.out), len(d.pending))
			}
		})
	}
}

// lateLinks are fake links whose routine message comes while the loop
// collects: the first Drain finds nothing, the next one finds it, as
// when a peer's routine status arrives in its socket just after Drain
// read it and the peer's next message (not routine) is read at once,
// handed on to the loop's queue and taken by the same collect.
type lateLinks struct {
	*fakeLinks
	late   []link.Packet
	drains int
}

func (l *lateLinks) Drain(fn func(link.Packet)) {
	l.drains++
	l.fakeLinks.Drain(fn)
	for _, p := range l.late {
		l.queueRoutine(p)
	}
	l.late = nil
}

// TestCollectAgainOnGap: a message of node2 that arrived after the
// links were drained, while a message node2 sent before it was still on
// its way, makes the loop read the links once more: node2's messages
// reach the core in the order sent. A batch without a gap reads them
// once.
func TestCollectAgainOnGap(t *testing.T) {
	r, logs, t0 := newStepRig(t)
	d := r.d
	links := &lateLinks{fakeLinks: r.links}
	d.links = links
	from := netip.MustParseAddrPort("192.0.2.3:694")
	status := func(seq uint64) []byte {
		return r.signed(seq, "t", "status", "st", "up", "dt", "7d0", "protocol", "1")
	}
	d.step(cluster.Receive{Now: t0.Add(time.Millisecond), Link: "eth0", Msg: mustDecode(t, d, status(1))})
	links.drains = 0
	links.late = []link.Packet{{Link: "eth0", From: from, Data: status(2), At: t0.Add(2 * time.Millisecond)}}
	d.step(cluster.Receive{Now: t0.Add(3 * time.Millisecond), Link: "eth0", Msg: mustDecode(t, d, status(3))})
	if p := d.core.Status().Peers; len(p) != 1 || p[0].Seq != 3 || p[0].Lost != 0 || p[0].Recovered != 0 {
		t.Errorf("peer %+v: want seq 3, nothing lost", p)
	}
	if strings.Contains(logs.String(), "lost packet") {
		t.Errorf("a gap was logged:\n%s", logs)
	}
	if links.drains != 2 {
		t.Errorf("%d drains, want 2 (one more for the gap)", links.drains)
	}
	links.drains = 0
	d.step(cluster.Receive{Now: t0.Add(4 * time.Millisecond), Link: "eth0", Msg: mustDecode(t, d, status(4))})
	if links.drains != 1 {
		t.Errorf("%d drains without a gap, want 1", links.drains)
	}
	// A real loss: one more read finds nothing, and the core logs it.
	links.drains = 0
	d.step(cluster.Receive{Now: t0.Add(6 * time.Millisecond), Link: "eth0", Msg: mustDecode(t, d, status(6))})
	if p := d.core.Status().Peers; len(p) != 1 || p[0].Seq != 6 || p[0].Lost != 1 {
		t.Errorf("peer %+v: want seq 6, one lost", p)
	}
	if links.drains != 2 {
		t.Errorf("%d drains for a real loss, want 2", links.drains)
	}
}

// BenchmarkOrderOne is what ordering adds to a wake-up with one message:
// its send key read, the batch arranged and given.
func BenchmarkOrderOne(b *testing.B) {
	m := &wire.Message{}
	for _, f := range [][2]string{{wire.FType, wire.TStatus}, {wire.FStatus, "active"}, {wire.FDeadtime, "28"}, {wire.FProtocol, "1"},
		{wire.FSrc, "node2"}, {wire.FSeq, "1"}, {wire.FGeneration, "5"}, {wire.FTimestamp, "6931f00d"}, {wire.FLoad, "0.08 0.03 0.01 1/187 4242"}, {wire.FTTL, "3"}} {
		m.Set(f[0], f[1])
	}
	nodes := []string{"node1", "node2"}
	var o sendOrder
	rs := make([]received, 1)
	b.ReportAllocs()
	for i := uint64(1); b.Loop(); i++ {
		gen, seq := sendKey(m)
		rs[0] = received{Link: "eth0", Msg: m, Gen: gen, Seq: seq + i}
		o.setPeers(nodes, "node1")
		o.arrange(rs)
		o.given()
	}
}
