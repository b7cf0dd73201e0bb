package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/wire"
)

// sbRoutine plays the daemon's routine sockets in the two-node harness
// (sbNet.routine): a routine message that arrives waits for its
// receiver's next step, and is given to it first (Receive, with its
// arrival time) unless that step is a Tick for which the receiver's core
// says RoutineCanWait, as hbd/daemon's tick does. (A node killed or
// restarted keeps nothing of it: not used across a kill.)
type sbRoutine struct {
	waiting map[string][]Receive
	// skipped counts the Ticks stepped without reading what waited,
	// read the Ticks stepped after reading; maxWait is the longest a
	// message waited for each node.
	skipped, read map[string]int
	maxWait       map[string]time.Duration
	// last is the last status of each node that arrived (a copy);
	// readAt when each node last read what waited.
	last   map[string]*wire.Message
	readAt map[string]time.Time
	// canWait replaces the core's RoutineCanWait when set (a test that
	// breaks it on purpose).
	canWait func(n *sbNode, now time.Time) bool
}

func newSBRoutine() *sbRoutine {
	return &sbRoutine{waiting: map[string][]Receive{}, skipped: map[string]int{}, read: map[string]int{}, last: map[string]*wire.Message{}, readAt: map[string]time.Time{}, maxWait: map[string]time.Duration{}}
}

func (r *sbRoutine) arrive(to string, rc Receive) {
	if rc.Msg.Type() == wire.TStatus {
		r.last[rc.Msg.Value(wire.FSrc)] = rc.Msg.Clone()
	}
	r.waiting[to] = append(r.waiting[to], rc)
}

// before runs before every step of n: the routine messages that wait
// for n go first, but at a Tick that may go without them.
func (r *sbRoutine) before(s *sbNet, n *sbNode, ev Event) {
	now := eventTime(ev)
	if t, ok := ev.(Tick); ok {
		can := n.core.RoutineCanWait(t.Now, r.readAt[n.name])
		if r.canWait != nil {
			can = r.canWait(n, t.Now)
		}
		if can {
			r.skipped[n.name]++
			return
		}
		r.read[n.name]++
	}
	r.readAt[n.name] = now
	w := r.waiting[n.name]
	if len(w) == 0 {
		return
	}
	r.waiting[n.name] = nil
	for _, rc := range w {
		r.maxWait[n.name] = max(r.maxWait[n.name], now.Sub(rc.Now))
		s.step(n, rc)
	}
}

// quietRoutineNet is the harness with routine messages read as the
// daemon reads them, run until node2 is quiet.
func quietRoutineNet(t *testing.T) *sbNet {
	t.Helper()
	s := newSBNet(t, nil)
	s.routine = newSBRoutine()
	s.run(25 * time.Second)
	if q := s.nodes["node2"].core.Status().Quiet; q != 10*time.Second {
		t.Fatalf("node2 quiet %v, want 10s\n%s", q, strings.Join(s.nodes["node2"].logs, "\n"))
	}
	return s
}

// wantNoDeath fails if a node logged a death, of a peer or of a link, or
// a late heartbeat.
func wantNoDeath(t *testing.T, s *sbNet) {
	t.Helper()
	for _, name := range s.names {
		n := s.nodes[name]
		for _, sub := range []string{"is dead", "dead.", "Late heartbeat"} {
			if n.logged(sub) {
				t.Errorf("%s logged %q:\n%s", name, sub, strings.Join(n.logs, "\n"))
			}
		}
	}
}

// TestRoutineWaitsForQuietPeer: beside a quiet peer most of the holder's
// Ticks go without reading its routine messages, which it reads at least
// once a deadtime and from when the next status is due: for ten minutes
// nobody dies, no heartbeat is late, and no message waits a deadtime and
// a keepalive.
// Its peer, which hears the holder every keepalive, reads them at every
// Tick.
func TestRoutineWaitsForQuietPeer(t *testing.T) {
	s := quietRoutineNet(t)
	r := s.routine
	skipped0, read0 := r.skipped["node1"], r.read["node1"]
	s.run(10 * time.Minute)
	wantNoDeath(t, s)
	s.wantHolders("node1")
	skipped, read := r.skipped["node1"]-skipped0, r.read["node1"]-read0
	t.Logf("node1: %d Ticks without, %d with the routine messages read; the longest wait %v", skipped, read, r.maxWait["node1"])
	if skipped < 300 || read > 300 {
		t.Errorf("node1 went without the routine messages at %d Ticks and read them at %d in 600 s, want most without", skipped, read)
	}
	if r.skipped["node2"] != 0 {
		t.Errorf("node2 went without the holder's routine statuses at %d Ticks", r.skipped["node2"])
	}
	if r.maxWait["node1"] >= 4*time.Second {
		t.Errorf("a routine message waited %v for node1, want less than a deadtime and a keepalive (4s)", r.maxWait["node1"])
	}
	if ps := peerStatusOf(s.nodes["node1"].core, "node2"); ps.Quiet != 10*time.Second || ps.State != StateActive {
		t.Errorf("node1 sees node2 %s, quiet %v", ps.State, ps.Quiet)
	}
}

// TestRoutineWaitNoFalseDeath: a Tick that went without the routine
// messages where they are due (its peer's deadline) would declare the
// quiet peer dead with its statuses waiting unread: the core's answer
// keeps every deadline. Broken on purpose (node1's Ticks always go
// without them), the same run does make that false death, so the run can
// tell.
func TestRoutineWaitNoFalseDeath(t *testing.T) {
	for _, broken := range []bool{false, true} {
		s := quietRoutineNet(t)
		if broken {
			s.routine.canWait = func(n *sbNode, now time.Time) bool {
				return n.name == "node1" || n.core.RoutineCanWait(now, s.routine.readAt[n.name])
			}
		}
		s.run(2 * time.Minute)
		died := s.nodes["node1"].logged("node node2: is dead")
		if died != broken {
			t.Errorf("RoutineCanWait broken %v: node1 declared node2 dead: %v\n%s", broken, died, strings.Join(s.nodes["node1"].logs, "\n"))
		}
	}
}

// TestRoutineWaitLinkDeadline: a second link the quiet peer was heard on
// long ago stays up until its own deadline, which can come before the
// peer's next status is due; a status on that link waiting unread then
// must be read first, or the Tick would declare the link dead with it
// waiting. Without the links' deadlines in routineDue (the peer's status
// interval alone) it is.
func TestRoutineWaitLinkDeadline(t *testing.T) {
	for _, linkDeadlines := range []bool{true, false} {
		s := quietRoutineNet(t)
		n1 := s.nodes["node1"].core
		if !linkDeadlines {
			s.routine.canWait = func(n *sbNode, now time.Time) bool {
				if n.name != "node1" {
					return n.core.RoutineCanWait(now, s.routine.readAt[n.name])
				}
				p := n.core.peers[0]
				return p.quietDT > 0 && now.Before(p.lastStatus.Add(p.quietEvery))
			}
		}
		// node2's status heard once on eth1 too (a duplicate, as a
		// second link is seen), then eth1 goes silent.
		last := lastStatusTo(t, s, "node2")
		s.step(s.nodes["node1"], Receive{Now: s.now, Link: "eth1", Msg: last})
		eth1 := s.now
		dt := n1.peerDeadtime(n1.peers[0])
		// A status on eth1 arrives just before its deadline, routine,
		// and waits for node1's next wake-up.
		s.run(dt - 50*time.Millisecond)
		s.routine.arrive("node1", Receive{Now: s.now, Link: "eth1", Msg: lastStatusTo(t, s, "node2")})
		// The peer's next status is not due before eth1's deadline.
		if p := n1.peers[0]; !p.lastStatus.Add(p.quietEvery).After(eth1.Add(dt)) {
			t.Fatalf("node2's status due at %v, eth1's deadline at %v: the case is not made", p.lastStatus.Add(p.quietEvery).Sub(t0), eth1.Add(dt).Sub(t0))
		}
		s.run(time.Second)
		dead := s.nodes["node1"].logged("Link node2:eth1 dead.")
		if dead == linkDeadlines {
			t.Errorf("links' deadlines kept %v: eth1 declared dead %v\n%s", linkDeadlines, dead, strings.Join(s.nodes["node1"].logs, "\n"))
		}
	}
}

// lastStatusTo is the last routine status of from that arrived (a copy).
func lastStatusTo(t *testing.T, s *sbNet, from string) *wire.Message {
	t.Helper()
	m := s.routine.last[from]
	if m == nil {
		t.Fatal("no routine status of " + from + " arrived")
	}
	return m.Clone()
}

// TestRoutineCanWaitConditions: beside a quiet peer a Tick may go without
// its routine messages until its next status is due and less than a
// deadtime after they were last read, and not at all once anything says
// a routine message may matter sooner: news sent to it (its answer, or
// its acknowledgement, is awaited), a seq of it missing, a message of it
// that woke it, its status without hbd_quiet, a link of it down, this
// node's time already at the due time (an event stepped before the Tick
// came later than the Tick's Now), or nothing read yet.
func TestRoutineCanWaitConditions(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(n *Node, p *peer, readAt *time.Time)
		early bool // the answer just before the due time
	}{
		{"quiet peer", func(*Node, *peer, *time.Time) {}, true},
		{"news sent to it", func(n *Node, p *peer, _ *time.Time) { p.quietNewsAt = n.now }, false},
		{"a seq of it missing", func(n *Node, p *peer, _ *time.Time) { p.missing = append(p.missing, missingSeq{seq: p.lastSeq + 1}) }, false},
		{"it woke", func(n *Node, p *peer, _ *time.Time) { p.quietDT = 0 }, false},
		{"its status every keepalive", func(n *Node, p *peer, _ *time.Time) { p.quietEvery, p.quietDT = 0, 0 }, false},
		{"a link of it dead", func(n *Node, p *peer, _ *time.Time) { p.links[0].state = LinkDead }, false},
		{"declared dead", func(n *Node, p *peer, _ *time.Time) { p.state = StateDead }, false},
		{"this node's time at the due time", func(n *Node, p *peer, _ *time.Time) { n.now = p.lastStatus.Add(p.quietEvery) }, false},
		{"stopped", func(n *Node, p *peer, _ *time.Time) { n.stopped = true }, false},
		{"never read", func(_ *Node, _ *peer, readAt *time.Time) { *readAt = time.Time{} }, false},
		{"read a deadtime ago", func(n *Node, _ *peer, readAt *time.Time) { *readAt = n.now.Add(-n.effectiveDeadtime()) }, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := quietRoutineNet(t)
			n := s.nodes["node1"].core
			p := n.peers[0]
			readAt := n.now
			due := minTime(p.lastStatus.Add(p.quietEvery), readAt.Add(n.effectiveDeadtime()))
			if !n.now.Before(due) {
				t.Fatalf("node1's time %v is not before node2's next status %v", n.now.Sub(t0), due.Sub(t0))
			}
			tc.edit(n, p, &readAt)
			if got := n.RoutineCanWait(due.Add(-time.Millisecond), readAt); got != tc.early {
				t.Errorf("a Tick 1 ms before the due time may go without the routine messages: %v, want %v", got, tc.early)
			}
			if n.RoutineCanWait(due, readAt) {
				t.Error("a Tick at the due time may go without the routine messages")
			}
		})
	}
}

// TestRoutineWaitPeerWoke: the quiet peer wakes (it finds one of the
// holder's statuses missing) and its first status without hbd_quiet, the
// one that would have been read at once, is lost: its next ones are
// routine and say every keepalive that it is quiet no more. Read in one
// batch, the first of them ends the scaled deadline. Two things keep that
// from declaring the peer, or a link of it, dead before the batch's later
// statuses are stepped: the read at least once a deadtime (every message
// read is younger than a deadtime and a keepalive), and the floor on the
// peer's deadlines when its quiet ends (quietEnded). With both, and with
// the floor alone (the peer's next status due as the only bound on the
// wait, where a message then waits up to S), nobody dies; only with the
// read once a deadtime does no message wait that long.
func TestRoutineWaitPeerWoke(t *testing.T) {
	for _, bounded := range []bool{true, false} {
		s := quietRoutineNet(t)
		n1 := s.nodes["node1"]
		if !bounded {
			s.routine.canWait = func(n *sbNode, now time.Time) bool {
				if n.name != "node1" {
					return n.core.RoutineCanWait(now, s.routine.readAt[n.name])
				}
				due := n.core.routineDue()
				return !due.IsZero() && now.Before(due) && n.core.now.Before(due)
			}
		}
		// Just after node2's quiet status came, one of node1's statuses
		// to node2 is lost, and so is node2's first awake status.
		last := s.routine.last["node2"]
		for range 4000 {
			if s.routine.last["node2"] != last {
				break
			}
			s.run(5 * time.Millisecond)
		}
		if s.routine.last["node2"] == last {
			t.Fatal("no status of node2 arrived in 20 s")
		}
		lostTo2, lostAwake := 0, 0
		s.lose = func(from, to string, m *wire.Message) bool {
			switch {
			case from == "node1" && m.Type() == wire.TStatus && lostTo2 == 0:
				lostTo2++
				return true
			case from == "node2" && m.Type() == wire.TStatus && m.Value(wire.FHbdQuiet) == "" && lostAwake == 0:
				lostAwake++
				return true
			}
			return false
		}
		s.run(30 * time.Second)
		if lostTo2 != 1 || lostAwake != 1 {
			t.Fatalf("lost %d of node1's statuses and %d of node2's awake ones, want 1 and 1: the case is not made", lostTo2, lostAwake)
		}
		for _, sub := range []string{"node node2: is dead", "Link node2:eth0 dead."} {
			if n1.logged(sub) {
				t.Errorf("read at least once a deadtime %v: node1 logged %q\n%s", bounded, sub, strings.Join(n1.logs, "\n"))
			}
		}
		if w := s.routine.maxWait["node1"]; (w < 4*time.Second) != bounded {
			t.Errorf("read at least once a deadtime %v: a routine message waited up to %v for node1 (a deadtime and a keepalive: 4s)", bounded, w)
		}
	}
}
