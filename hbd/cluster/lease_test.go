package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// TestQuorumLeaseWait: three nodes with quorum; node1, holding the group,
// dies. node2 starts it once node3 said it declared node1 dead too and
// the quorum wait passed (the dead node's lease: lease.go), not two
// deadtimes after the death; with a node that does not keep the lease (an
// older hbd: its statuses lack hbd_lease and hbd_ack) the wait is two
// deadtimes, as before the lease.
func TestQuorumLeaseWait(t *testing.T) {
	const deadtime, keepalive = 3 * time.Second, time.Second // testConfig's
	stripLease := func(from string, m *wire.Message) {
		if from == "node3" {
			m.Del(wire.FHbdLease)
			m.Del(wire.FHbdAck)
		}
	}
	tests := []struct {
		name    string
		wait    time.Duration // quorum_wait (0: deadtime)
		rewrite func(string, *wire.Message)
		// the start after the kill: no sooner than, and no later than
		earliest, latest time.Duration
		logLease         bool
	}{
		// detection (a deadtime after the last heartbeat, up to a
		// keepalive before the kill), then the wait: node3 says at once
		// that it declared node1 dead
		{"default wait", 0, nil, 2*deadtime - keepalive, 2*deadtime + time.Second, true},
		{"quorum_wait 200ms", 200 * time.Millisecond, nil, deadtime - keepalive + 200*time.Millisecond, deadtime + 200*time.Millisecond + time.Second, true},
		{"a node without the lease", 200 * time.Millisecond, stripLease, 3*deadtime - time.Second, 3*deadtime + time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newSBNetOf(t, []string{"node1", "node2", "node3"}, func(c *config.Config) { c.QuorumWait = tt.wait })
			s.rewrite = tt.rewrite
			s.run(15 * time.Second)
			s.wantHolders("node1")
			n2 := s.nodes["node2"]
			killed := s.now
			s.kill("node1")
			s.run(4 * deadtime)
			s.wantHolders("node2")
			if len(n2.starts) != 1 {
				t.Fatalf("node2 started %d times, want once", len(n2.starts))
			}
			if d := n2.starts[0].Sub(killed); d < tt.earliest || d > tt.latest {
				t.Errorf("node2 started %s after the kill, want %s to %s\n%s", d, tt.earliest, tt.latest, strings.Join(n2.logs, "\n"))
			}
			logged := strings.Contains(strings.Join(n2.logs, "\n"), "quorum lease ended the wait")
			if logged != tt.logLease {
				t.Errorf("the lease ended the wait (logged): %v, want %v\n%s", logged, tt.logLease, strings.Join(n2.logs, "\n"))
			}
		})
	}
}

// TestQuorumLeaseExpires: node1 holds the group and still hears both
// peers, but they no longer hear it (a one-way cut): it keeps quorum,
// yet its lease runs out (their acks stop), so it releases the group
// before they can take it over by the lease; then node2 starts it.
func TestQuorumLeaseExpires(t *testing.T) {
	s := newSBNetOf(t, []string{"node1", "node2", "node3"}, func(c *config.Config) { c.QuorumWait = 200 * time.Millisecond })
	s.run(15 * time.Second)
	s.wantHolders("node1")
	s.blocked = func(from, _ string) bool { return from == "node1" }
	var released time.Time
	for range 2000 {
		s.run(5 * time.Millisecond)
		n1 := s.nodes["node1"]
		if released.IsZero() && !n1.running[sbKey] {
			released = s.now
			if !n1.core.HasQuorum() {
				t.Fatalf("node1 lost quorum; want it kept (it hears both peers)")
			}
		}
		if n2 := s.nodes["node2"]; len(n2.starts) > 0 {
			if released.IsZero() || released.After(n2.starts[0]) {
				t.Fatalf("node2 started the group at %v while node1 still ran it (released %v)\n%s", n2.starts[0].Sub(t0), released.Sub(t0), strings.Join(n1.logs, "\n"))
			}
			if !strings.Contains(strings.Join(n1.logs, "\n"), "Quorum lease expired") {
				t.Errorf("node1 did not log its lease's expiry:\n%s", strings.Join(n1.logs, "\n"))
			}
			return
		}
	}
	t.Fatalf("node2 never started the group")
}

// TestQuorumLeaseAcks: the time an ack vouches for moves only forward,
// to the time this node sent the acknowledged seq; an ack of another
// generation (a run before a restart) or a replayed status moves nothing.
func TestQuorumLeaseAcks(t *testing.T) {
	s := newSBNetOf(t, []string{"node1", "node2", "node3"}, nil)
	s.run(5 * time.Second)
	n1 := s.nodes["node1"].core
	p := n1.peerByName("node2")
	if p.ackSeq == 0 || p.ackSent.IsZero() {
		t.Fatalf("node1 has no ack from node2 after 5 s")
	}
	e, _ := n1.sent(p.ackSeq)
	if e == nil || !e.sentAt.Equal(p.ackSent) {
		t.Fatalf("ack of seq %d vouches for %v, want its send time", p.ackSeq, p.ackSent)
	}
	seq, sent := p.ackSeq, p.ackSent
	status := func(ack string, statusSeq uint64) *wire.Message {
		m := &wire.Message{}
		m.Set(wire.FType, wire.TStatus)
		m.Set(wire.FStatus, StateActive)
		m.Set(wire.FSrc, "node2")
		m.SetHex(wire.FSeq, statusSeq)
		m.SetHex(wire.FGeneration, p.gen)
		m.SetHex(wire.FTimestamp, unixSeconds(s.now))
		m.Set(wire.FHbdLease, "bb8:bb8")
		m.Set(wire.FHbdAck, ack)
		return m
	}
	next := p.lastSeq + 1
	for _, tt := range []struct {
		name string
		m    *wire.Message
	}{
		{"an older seq", status("node1:"+wire.Hex(n1.gen)+":"+wire.Hex(seq-1), next)},
		{"another generation", status("node1:"+wire.Hex(n1.gen+1)+":"+wire.Hex(seq+1), next+1)},
		{"a replay of that status", status("node1:"+wire.Hex(n1.gen)+":"+wire.Hex(seq+1), next+1)},
	} {
		n1.Step(Receive{Now: s.now, Link: "eth0", Msg: tt.m})
		if p.ackSeq != seq || !p.ackSent.Equal(sent) {
			t.Errorf("%s: ack moved to seq %d (%v), want %d (%v)", tt.name, p.ackSeq, p.ackSent, seq, sent)
		}
	}
	n1.Step(Receive{Now: s.now, Link: "eth0", Msg: status("node1:"+wire.Hex(n1.gen)+":"+wire.Hex(n1.seq), next+2)})
	if p.ackSeq != n1.seq {
		t.Errorf("a fresh ack of seq %d: ack at %d", n1.seq, p.ackSeq)
	}
}

// TestQuorumLeaseShortenedWait: five nodes; node2 alone reloads a shorter
// quorum_wait while node1, the holder, no longer hears it (node1 still
// counts on node2's old wait). Long after the reload node1's sending is
// cut: node2 takes the group over by node1's lease, but waits node1's
// announced wait, so node1 has released the group first.
func TestQuorumLeaseShortenedWait(t *testing.T) {
	names := []string{"node1", "node2", "node3", "node4", "node5"}
	edit := func(c *config.Config) {
		c.Nodes = names
		c.QuorumWait = 2 * time.Second
		c.Keepalive = 100 * time.Millisecond
	}
	s := newSBNetOf(t, names, edit)
	s.run(15 * time.Second)
	s.wantHolders("node1")
	cut := map[[2]string]bool{{"node2", "node1"}: true}
	s.blocked = func(from, to string) bool { return cut[[2]string{from, to}] }
	c := sbConfig("node2", edit)
	c.QuorumWait = 200 * time.Millisecond
	s.step(s.nodes["node2"], Reconfigure{Now: s.now, Config: c})
	s.run(7 * time.Second) // past node2's deadtime and old wait
	s.wantHolders("node1")
	for _, to := range names[1:] {
		cut[[2]string{"node1", to}] = true
	}
	for range 2000 {
		s.run(5 * time.Millisecond)
		if hs := s.holders(); len(hs) > 1 {
			t.Fatalf("holders %v at +%s\nnode1:\n%s\nnode2:\n%s", hs, fmtSecs(s.now.Sub(t0)),
				strings.Join(s.nodes["node1"].logs, "\n"), strings.Join(s.nodes["node2"].logs, "\n"))
		}
	}
	s.wantHolders("node2")
	if !s.nodes["node2"].logged("quorum lease ended the wait") {
		t.Errorf("node2 did not take the group over by node1's lease:\n%s", strings.Join(s.nodes["node2"].logs, "\n"))
	}
}
