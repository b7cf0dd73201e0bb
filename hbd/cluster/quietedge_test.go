package cluster

import (
	"strings"
	"testing"
	"time"

	"github.com/hbdproject/hbd/hbd/config"
	"github.com/hbdproject/hbd/hbd/wire"
)

// Quiet passive at its edges: each test is a way a quiet node could be
// declared dead falsely, or make a group wait or run twice, each compared
// with quiet_passive off under the same faults.

// Rolling change from two nodes to three: node1 and node3 already have
// the three-node ha.cf (quorum auto: on), node2 still the two-node one.
// node2 goes quiet (its own config allows it) and node1 and node3 honour
// it although their own config (three nodes, quorum) would never let a
// node go quiet: quorum then counts a dead quiet node2 for up to k ×
// deadtime. node2 dies, then node1 and node3 lose each other: node1 must
// lose quorum and release the group a deadtime later, as it does with
// quiet_passive off.
func TestQuietHonouredUnderQuorum(t *testing.T) {
	released := map[bool]time.Duration{}
	for _, quiet := range []bool{false, true} {
		s := newSBNetOf(t, []string{"node1", "node3", "node2"}, func(c *config.Config) {
			c.NoQuietPassive = !quiet
			if c.ThisNode == "node2" {
				c.Nodes = []string{"node1", "node2"}
			}
		})
		s.run(40 * time.Second)
		s.wantHolders("node1")
		n1, n2, n3 := s.nodes["node1"], s.nodes["node2"], s.nodes["node3"]
		if quiet != (n2.core.Status().Quiet > 0) {
			t.Logf("quiet_passive %v: node2 quiet %v", quiet, n2.core.Status().Quiet)
		}
		for _, n := range []*sbNode{n1, n3} {
			if !n.core.quorumOn() {
				t.Fatalf("%s: quorum off", n.name)
			}
			if ps := peerStatusOf(n.core, "node2"); ps.Quiet != 0 {
				t.Errorf("%s (three nodes, quorum on) honours node2's hbd_quiet=%v: deadtime %v", n.name, ps.Quiet, ps.Deadtime)
			}
		}
		// node2 dies; a second later node1 and node3 lose each other.
		s.kill("node2")
		s.run(time.Second)
		cut := s.now
		s.blocked = func(from, to string) bool {
			return from == "node1" && to == "node3" || from == "node3" && to == "node1"
		}
		for range 80 {
			s.run(500 * time.Millisecond)
			if !n1.running[sbKey] {
				break
			}
		}
		released[quiet] = s.now.Sub(cut)
		if released[quiet] > 6*time.Second {
			t.Errorf("quiet_passive %v: node1 ran the group %v after it lost both peers (node2 dead, node3 cut off), with quorum on\nnode1:\n%s", quiet, released[quiet], strings.Join(n1.logs, "\n"))
		}
		if hs := s.holders(); len(hs) > 1 {
			t.Errorf("quiet_passive %v: the group runs on %v", quiet, hs)
		}
	}
	t.Logf("node1 released the group %v after the cut with quiet_passive off, %v with it on", released[false], released[true])
}

// node1 (the holder) has a longer deadtime than node2 (6 s against 3 s:
// a reload done on node1 first, or two ha.cf files that differ). node2
// announces hbd_quiet for its own deadtime only (3 s, four statuses): if
// those four are lost, node1 sees a gap of about 3 s + S = 13 s and
// declares node2 dead, where without quiet it tolerates five statuses
// lost in a row. Compared with the same losses and quiet_passive off.
func TestQuietAnnounceShorterThanPeerDeadtime(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		s := newSBNet(t, func(c *config.Config) {
			c.NoQuietPassive = !quiet
			if c.ThisNode == "node1" {
				c.Deadtime, c.Initdead = 6*time.Second, 12*time.Second
			}
		})
		n1, n2 := s.nodes["node1"], s.nodes["node2"]
		// Lose node2's statuses from +14 s (when it begins to announce,
		// with quiet on) for 3.5 s: four statuses.
		lost := 0
		s.lose = func(from, _ string, m *wire.Message) bool {
			if from != "node2" || m.Type() != wire.TStatus || s.now.Before(t0.Add(14*time.Second)) || !s.now.Before(t0.Add(17500*time.Millisecond)) {
				return false
			}
			lost++
			return true
		}
		s.run(60 * time.Second)
		if quiet && !n2.quietSent() {
			t.Fatal("node2 never announced quiet")
		}
		if n1.logged("node node2: is dead") {
			t.Errorf("quiet_passive %v: node1 (deadtime 6 s) declared node2 dead after %d of its statuses were lost\n%s", quiet, lost, strings.Join(n1.logs, "\n"))
		}
	}
}

// node1, the holder, is reloaded to a shorter keepalive (1 s / 3 s to
// 100 ms / 1 s) just after its quiet peer died. Its deadline for node2
// is deadtime × S / keepalive with the *new* keepalive and node2's old
// S (10 s), and the reload's longer old deadtime (3 s): 300 s instead of
// the documented k × deadtime (30 s, or 10 s at the new settings).
func TestQuietHolderReloadShorterKeepalive(t *testing.T) {
	s := newSBNet(t, nil)
	s.run(30 * time.Second)
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	if n2.core.Status().Quiet == 0 {
		t.Fatal("node2 is not quiet")
	}
	s.kill("node2")
	last := n2.statuses[len(n2.statuses)-1].at
	s.run(100 * time.Millisecond)
	c := sbConfig("node1", nil)
	c.Keepalive, c.Warntime, c.Deadtime, c.Initdead = 100*time.Millisecond, 500*time.Millisecond, time.Second, 2*time.Second
	s.step(n1, Reconfigure{Now: s.now, Config: c})
	reloaded := s.now
	ps := peerStatusOf(n1.core, "node2")
	t.Logf("after the reload node1 sees node2: quiet %v, deadtime %v, dead in %v", ps.Quiet, ps.Deadtime, ps.DeadAt.Sub(s.now))
	for range 400 {
		s.run(time.Second)
		if n1.logged("node node2: is dead") {
			break
		}
	}
	dead := n1.loggedAt("node node2: is dead")
	if dead.IsZero() {
		dead = last
	}
	if dead.Sub(last) > 31*time.Second || dead.Equal(last) {
		t.Errorf("node2's last status +%v; node1 (reloaded to 100 ms / 1 s at +%v) declared it dead %v later (zero: not in %v), want at most k × the old deadtime (30 s)", fmtSecs(last.Sub(t0)), fmtSecs(reloaded.Sub(t0)), dead.Sub(last), s.now.Sub(last))
	}
}

// node1, the holder, is reloaded to a shorter keepalive (1 s / 3 s to
// 200 ms / 3 s, or to 100 ms / 1 s) while node2 is quiet (S = 10 s), and
// the announcement that tells node2 of node1's new hbd_quietmax (2 s, 1 s)
// is lost (or not). node2 must not be declared dead.
func TestQuietHolderReloadAnnouncementLost(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ka, dt time.Duration
		lose   bool
	}{
		{"200ms/3s", 200 * time.Millisecond, 3 * time.Second, false},
		{"200ms/3s lost", 200 * time.Millisecond, 3 * time.Second, true},
		{"100ms/1s", 100 * time.Millisecond, time.Second, false},
		{"100ms/1s lost", 100 * time.Millisecond, time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newSBNet(t, nil)
			s.run(33 * time.Second)
			n1, n2 := s.nodes["node1"], s.nodes["node2"]
			if n2.core.Status().Quiet == 0 {
				t.Fatal("node2 is not quiet")
			}
			lost := 0
			s.lose = func(from, _ string, m *wire.Message) bool {
				if from != "node1" || m.Type() == wire.TStatus || !tc.lose || lost > 0 {
					return false
				}
				lost++
				return true
			}
			c := sbConfig("node1", nil)
			c.Keepalive, c.Warntime, c.Deadtime, c.Initdead = tc.ka, tc.dt*2/3, tc.dt, 2*tc.dt
			s.step(n1, Reconfigure{Now: s.now, Config: c})
			s.run(60 * time.Second)
			if n1.logged("node node2: is dead") || n2.logged("node node1: is dead") {
				t.Errorf("false death after the reload (lost %d)\nnode1:\n%s\nnode2:\n%s", lost, strings.Join(n1.logs, "\n"), strings.Join(n2.logs, "\n"))
			}
			s.wantHolders("node1")
		})
	}
}

// failure_timeout=10s. The quiet node2 dies; 5 s later (more than a deadtime) the group's
// monitor fails on node1, the holder. node1 stops the group and hands it
// to node2, which it still believes alive: the group runs nowhere until
// node1 notices node2's death. Compared with quiet_passive off: how long
// the group runs on no node after the failure.
func TestQuietMonitorFailureAfterPassiveDeath(t *testing.T) {
	unheld := map[bool]time.Duration{}
	for _, quiet := range []bool{false, true} {
		s := newSBNet(t, func(c *config.Config) {
			c.NoQuietPassive = !quiet
			c.Groups[0].FailureTimeout = 10 * time.Second
		})
		s.run(30 * time.Second)
		n1, n2 := s.nodes["node1"], s.nodes["node2"]
		if quiet != (n2.core.Status().Quiet > 0) {
			t.Fatalf("quiet_passive %v: node2 quiet %v", quiet, n2.core.Status().Quiet)
		}
		s.kill("node2")
		s.run(5 * time.Second)
		failed := s.now
		n1.running[sbKey] = false // the monitor saw it die
		s.step(n1, GroupFailure{Now: s.now, Group: sbKey, Detail: "IPaddr: not running"})
		back := time.Time{}
		for range 120 {
			s.run(500 * time.Millisecond)
			if n1.running[sbKey] {
				back = s.now
				break
			}
		}
		g, _ := n1.core.Group(sbKey)
		if back.IsZero() {
			unheld[quiet] = -1
			t.Logf("quiet_passive %v: the group never ran again in 60 s (node1: %s, failed %v, desired %q)", quiet, g.State, g.Failed, g.Desired)
			continue
		}
		unheld[quiet] = back.Sub(failed)
	}
	t.Logf("group unheld after the monitor failure: %v with quiet_passive off, %v with it on (-1: never again)", unheld[false], unheld[true])
	if unheld[true] != unheld[false] && (unheld[true] < 0 || unheld[false] >= 0 && unheld[true] > unheld[false]+time.Second) {
		t.Errorf("a monitor failure after the quiet passive's death leaves the group unheld %v, against %v with quiet_passive off", unheld[true], unheld[false])
	}
}

// The same rolling change, quorum off on the three-node side: node2
// (still two-node, quiet) dies, then node1, the holder, crashes. node3
// must take the group over about a deadtime after node1's death, as with
// quiet_passive off; instead it names node2, which it still believes
// alive (it honours node2's hbd_quiet), as the taker, and the group runs
// nowhere until node3 notices node2's death.
func TestQuietHonouredByThirdNodeTakeover(t *testing.T) {
	took := map[bool]time.Duration{}
	for _, quiet := range []bool{false, true} {
		s := newSBNetOf(t, []string{"node1", "node2", "node3"}, func(c *config.Config) {
			c.NoQuietPassive = !quiet
			c.Quorum = config.QuorumOff
			if c.ThisNode == "node2" {
				c.Nodes = []string{"node1", "node2"}
			}
		})
		s.run(40 * time.Second)
		s.wantHolders("node1")
		n2, n3 := s.nodes["node2"], s.nodes["node3"]
		if quiet != (n2.core.Status().Quiet > 0) {
			t.Logf("quiet_passive %v: node2 quiet %v", quiet, n2.core.Status().Quiet)
		}
		s.kill("node2")
		s.run(5 * time.Second)
		s.kill("node1")
		killed := s.now
		for range 120 {
			s.run(500 * time.Millisecond)
			if n3.running[sbKey] {
				break
			}
		}
		took[quiet] = s.now.Sub(killed)
		if !n3.running[sbKey] {
			t.Errorf("quiet_passive %v: node3 never took the group over\n%s", quiet, strings.Join(n3.logs, "\n"))
		}
	}
	noLaterWithQuiet(t, "node3's takeover after node1's crash", took)
}

// runSkewed is sbNet.run with each node's clock ahead of the network's
// by skew[name] (a monotonic clock that leapt).
func (s *sbNet) runSkewed(d time.Duration, skew map[string]time.Duration) {
	s.skew = skew
	s.run(d)
	s.skew = nil
}

// The holder's monotonic clock leaps ahead by L while its packets keep
// flowing (node2 hears it all along, so it stays quiet). The stall rule
// holds deaths back for StallGraceFactor keepalives, "long enough for every
// live peer's next status to arrive" — not a quiet peer's, which comes
// up to S = 10 keepalives later. Without quiet no leap causes a death;
// with it, a leap of more than (k-1) × deadtime (20 s at 1 s / 3 s;
// 300 ms at 10 ms / 40 ms) makes node1 declare the live node2 dead.
func TestQuietHolderClockLeap(t *testing.T) {
	for _, quiet := range []bool{false, true} {
		for _, leap := range []time.Duration{5 * time.Second, 25 * time.Second, 60 * time.Second} {
			s := newSBNet(t, func(c *config.Config) { c.NoQuietPassive = !quiet })
			s.run(40 * time.Second)
			n1, n2 := s.nodes["node1"], s.nodes["node2"]
			if quiet != (n2.core.Status().Quiet > 0) {
				t.Fatalf("quiet_passive %v: node2 quiet %v", quiet, n2.core.Status().Quiet)
			}
			s.runSkewed(30*time.Second, map[string]time.Duration{"node1": leap})
			if n1.logged("node node2: is dead") {
				t.Errorf("quiet_passive %v, node1's clock leapt %v: node1 declared the live node2 dead", quiet, leap)
			}
			if n2.logged("node node1: is dead") {
				t.Errorf("quiet_passive %v, node1's clock leapt %v: node2 declared node1 dead", quiet, leap)
			}
		}
	}
}

// failback_delay 20 s to a preferred node that holds nothing meanwhile
// (and may go quiet): the failback comes when it came with quiet off.
func TestQuietFailbackDelay(t *testing.T) {
	back := map[bool]time.Duration{}
	for _, quiet := range []bool{false, true} {
		edit := func(c *config.Config) {
			c.NoQuietPassive = !quiet
			c.Groups[0].Preferred = "node2"
			c.AutoFailback = config.FailbackOn
			c.FailbackDelay = 20 * time.Second
		}
		s := newSBNet(t, edit)
		s.run(10 * time.Second)
		s.wantHolders("node2")
		n2 := s.nodes["node2"]
		s.kill("node2")
		s.run(10 * time.Second)
		s.wantHolders("node1")
		s.startNode(n2, edit)
		restarted := s.now
		wasQuiet := false
		for range 200 {
			s.run(250 * time.Millisecond)
			wasQuiet = wasQuiet || n2.core.Status().Quiet > 0
			if n2.running[sbKey] {
				break
			}
		}
		back[quiet] = s.now.Sub(restarted)
		t.Logf("quiet_passive %v: failback %v after node2's restart (node2 went quiet meanwhile: %v)", quiet, back[quiet], wasQuiet)
	}
	if d := back[true] - back[false]; d > time.Second || d < -time.Second {
		t.Errorf("failback %v after the restart with quiet_passive on, %v with it off", back[true], back[false])
	}
}

// A partition while node2 is quiet, healed after 10 s (node2 took the
// group over after a deadtime; node1 never noticed node2's death, its
// deadline being 30 s): the duplicate ends as fast as with quiet off,
// and one node holds the group in the end.
func TestQuietPartitionHeal(t *testing.T) {
	resolved := map[bool]time.Duration{}
	for _, quiet := range []bool{false, true} {
		for _, oneWay := range []bool{false, true} {
			s := newSBNet(t, func(c *config.Config) { c.NoQuietPassive = !quiet })
			s.run(40 * time.Second)
			n2 := s.nodes["node2"]
			if quiet != (n2.core.Status().Quiet > 0) {
				t.Fatalf("quiet_passive %v: node2 quiet %v", quiet, n2.core.Status().Quiet)
			}
			s.blocked = func(from, to string) bool { return from == "node1" || !oneWay && from == "node2" }
			s.run(10 * time.Second)
			if hs := s.holders(); len(hs) != 2 {
				t.Fatalf("quiet %v oneWay %v: holders %v during the partition", quiet, oneWay, hs)
			}
			s.blocked = nil
			healed := s.now
			for range 200 {
				s.run(100 * time.Millisecond)
				if len(s.holders()) == 1 {
					break
				}
			}
			if len(s.holders()) != 1 {
				t.Errorf("quiet %v oneWay %v: holders %v 20 s after the heal", quiet, oneWay, s.holders())
			}
			if !oneWay {
				resolved[quiet] = s.now.Sub(healed)
			}
			s.run(30 * time.Second)
			if len(s.holders()) != 1 {
				t.Errorf("quiet %v oneWay %v: holders %v in the end", quiet, oneWay, s.holders())
			}
		}
	}
	t.Logf("duplicate resolved %v after the heal with quiet off, %v with it on", resolved[false], resolved[true])
	if resolved[true] > resolved[false]+time.Second {
		t.Errorf("duplicate resolved %v later with quiet on", resolved[true]-resolved[false])
	}
}

// Both nodes hold nothing (the group is disabled), so neither goes quiet
// (a node is quiet only while its peer holds a group). node1 dies; the
// operator enables the group on node2, which starts it as soon as with
// quiet_passive off. Had both gone quiet, each honouring the other's
// hbd_quiet, the rule would name node1 (preferred, believed alive) as
// the holder and the group would run nowhere until node2 noticed node1's
// death, up to k × deadtime later.
func TestQuietDisabledGroupEnable(t *testing.T) {
	started := map[bool]time.Duration{}
	for _, quiet := range []bool{false, true} {
		s := newSBNet(t, func(c *config.Config) { c.NoQuietPassive = !quiet })
		s.run(10 * time.Second)
		s.wantHolders("node1")
		n1, n2 := s.nodes["node1"], s.nodes["node2"]
		s.step(n1, Command{Now: s.now, Kind: CmdGroupDisable, Which: sbKey})
		s.run(40 * time.Second)
		s.wantHolders()
		wantNeitherQuiet(t, n1, n2)
		s.kill("node1")
		s.run(5 * time.Second)
		at := s.now
		s.step(n2, Command{Now: s.now, Kind: CmdGroupEnable, Which: sbKey})
		s.runUntilHolds(n2)
		started[quiet] = s.now.Sub(at)
		if !n2.running[sbKey] {
			t.Errorf("quiet %v: node2 never started the group\n%s", quiet, strings.Join(n2.logs, "\n"))
		}
	}
	noLaterWithQuiet(t, "the group's start after the enable", started)
}

// The group disabled, so neither node holds anything and neither goes
// quiet (a node is quiet only while its peer holds a group); the group is
// enabled on node1, which starts it; its first statuses after the enable
// are lost, and node1 crashes 300 ms after the enable. node2 takes over
// a deadtime after node1's last message, as with quiet_passive off: had
// both nodes gone quiet, node2 would scale node1's deadline by k (only a
// status ends quiet on the receiving side) and take over up to k ×
// deadtime late.
func TestQuietHolderWakeStatusLost(t *testing.T) {
	took := map[bool]time.Duration{}
	for _, quiet := range []bool{false, true} {
		s := newSBNet(t, func(c *config.Config) { c.NoQuietPassive = !quiet })
		s.run(10 * time.Second)
		n1, n2 := s.nodes["node1"], s.nodes["node2"]
		s.step(n1, Command{Now: s.now, Kind: CmdGroupDisable, Which: sbKey})
		s.run(40 * time.Second)
		s.wantHolders()
		wantNeitherQuiet(t, n1, n2)
		s.loseAwakeStatuses("node1", 3)
		s.step(n1, Command{Now: s.now, Kind: CmdGroupEnable, Which: sbKey})
		s.run(300 * time.Millisecond)
		s.wantHolders("node1")
		var held bool
		took[quiet], held = s.killAndTake("node1", n2)
		if !held {
			t.Errorf("quiet %v: node2 never took over", quiet)
		}
	}
	noLaterWithQuiet(t, "node2's takeover after node1's crash", took)
}

// node2 is quiet; the group moves to it (hb_standby on node1, or group
// move): node2 wakes and starts it, its first two statuses without
// hbd_quiet are lost, and it crashes 300 ms after the command. node1
// still scales node2's deadline by k (only a status ends quiet on the
// receiving side, not node2's announcement that it holds the group), so
// the failover back to node1 comes k × deadtime after node2's last
// message instead of a deadtime.
func TestQuietNewHolderWakeStatusLost(t *testing.T) {
	for _, tc := range []struct {
		name string
		cmd  Command
	}{
		{"hb_standby", Command{Kind: CmdStandby}},
		{"group move", Command{Kind: CmdGroupMove, Which: sbKey, Node: "node2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			took := map[bool]time.Duration{}
			for _, quiet := range []bool{false, true} {
				s := newSBNet(t, func(c *config.Config) { c.NoQuietPassive = !quiet })
				s.run(40 * time.Second)
				n1, n2 := s.nodes["node1"], s.nodes["node2"]
				if quiet != (n2.core.Status().Quiet > 0) {
					t.Fatalf("quiet %v: node2 quiet %v", quiet, n2.core.Status().Quiet)
				}
				s.loseAwakeStatuses("node2", 2)
				cmd := tc.cmd
				cmd.Now = s.now
				s.step(n1, cmd)
				s.run(300 * time.Millisecond)
				s.wantHolders("node2")
				var held bool
				took[quiet], held = s.killAndTake("node2", n1)
				if !held {
					t.Errorf("quiet %v: node1 never took the group back", quiet)
				}
			}
			noLaterWithQuiet(t, "node1's takeover after node2's crash", took)
		})
	}
}

// A holder whose statuses say hbd_quiet (a buggy or other version of
// hbd; the field is authenticated, and in bounds) while its own
// announcements say it holds the group. Whatever its peer's
// quiet_passive, the peer keeps the plain deadtime for it and takes the
// group over about a deadtime after the crash, not k × deadtime; a peer
// with quiet_passive on says once that it ignores the claim.
func TestQuietClaimedByHolder(t *testing.T) {
	for _, passiveQuiet := range []bool{false, true} {
		s := newSBNet(t, func(c *config.Config) { c.NoQuietPassive = c.ThisNode == "node2" && !passiveQuiet })
		s.alter = func(from string, m *wire.Message) {
			if from == "node1" && m.Type() == wire.TStatus {
				m.SetMillis(wire.FHbdQuiet, 10*time.Second)
			}
		}
		s.run(20 * time.Second)
		s.wantHolders("node1")
		n2 := s.nodes["node2"]
		ps := peerStatusOf(n2.core, "node1")
		if ps.Quiet != 0 || ps.Deadtime != 3*time.Second {
			t.Errorf("quiet_passive %v on node2: it sees the holder quiet %v, deadtime %v; want 0, 3s", passiveQuiet, ps.Quiet, ps.Deadtime)
		}
		if warned := n2.logged("while its latest announcement lists groups it holds"); warned != passiveQuiet {
			t.Errorf("quiet_passive %v on node2: warned of the claim %v\n%s", passiveQuiet, warned, strings.Join(n2.logs, "\n"))
		}
		took, held := s.killAndTake("node1", n2)
		if !held || took > 4*time.Second {
			t.Errorf("quiet_passive %v on node2: it took over %v after the holder's crash (held %v), want about a deadtime", passiveQuiet, took, held)
		}
	}
}

// loseAwakeStatuses has the network drop the first n statuses from that
// carry no hbd_quiet (those of a node awake); it returns the count lost
// so far.
func (s *sbNet) loseAwakeStatuses(from string, n int) *int {
	lost := 0
	s.lose = func(src, _ string, m *wire.Message) bool {
		if src == from && m.Type() == wire.TStatus && m.Value(wire.FHbdQuiet) == "" && lost < n {
			lost++
			return true
		}
		return false
	}
	return &lost
}

// At keepalive 10 ms / deadtime 40 ms / initdead 80 ms the passive,
// restarted beside a holder long up, goes quiet within a few deadtimes of
// its initdead, not after the start bonus (StartBonusFor, 5 s): hbd never
// obeys the dt a node announces, so the bonus delays nothing a peer
// decides. The status that ends the bonus (the plain dt) does not wake
// it, and neither node declares the other dead.
func TestQuietBeforeStartBonusEnds(t *testing.T) {
	edit := func(c *config.Config) {
		c.Keepalive, c.Deadtime, c.Warntime, c.Initdead = 10*time.Millisecond, 40*time.Millisecond, 20*time.Millisecond, 80*time.Millisecond
	}
	s := newSBNet(t, edit)
	s.run(10 * time.Second)
	s.wantHolders("node1")
	n1, n2 := s.nodes["node1"], s.nodes["node2"]
	s.kill("node2")
	s.run(time.Second)
	s.startNode(n2, edit)
	restarted := s.now
	n2.logs = nil
	n1.logs = nil
	s.run(2 * time.Second)
	quietAt := n2.loggedAt("Holding no resource group")
	if quietAt.IsZero() || quietAt.Sub(restarted) > time.Second {
		t.Fatalf("node2 restarted at +%s, quiet at %v: want within a second\n%s", fmtSecs(restarted.Sub(t0)), quietAt, strings.Join(n2.logs, "\n"))
	}
	s.run(StartBonusFor)
	if n2.logged("Status every 10 ms again") || n2.core.Status().Quiet != 100*time.Millisecond {
		t.Errorf("node2 woke at the end of its start bonus (quiet %v)\n%s", n2.core.Status().Quiet, strings.Join(n2.logs, "\n"))
	}
	for _, n := range []*sbNode{n1, n2} {
		if n.logged("is dead") {
			t.Errorf("%s declared its peer dead\n%s", n.name, strings.Join(n.logs, "\n"))
		}
	}
	s.wantHolders("node1")
}

// wantNeitherQuiet fails t unless both nodes send their status every
// keepalive: a pair in which neither holds a group stays awake.
func wantNeitherQuiet(t *testing.T, n1, n2 *sbNode) {
	t.Helper()
	if q1, q2 := n1.core.Status().Quiet, n2.core.Status().Quiet; q1 != 0 || q2 != 0 {
		t.Fatalf("holding nothing, node1 is quiet %v and node2 %v; want neither quiet", q1, q2)
	}
}

// noLaterWithQuiet fails t when what took more than a second longer with
// quiet_passive on (d[true]) than off (d[false]).
func noLaterWithQuiet(t *testing.T, what string, d map[bool]time.Duration) {
	t.Helper()
	t.Logf("%s: %v with quiet_passive off, %v with it on", what, d[false], d[true])
	if d[true] > d[false]+time.Second {
		t.Errorf("%s: %v later with quiet_passive on", what, d[true]-d[false])
	}
}
